"""The ACD's rules from the dialplan: queues and agents as the routing core sees them."""

from __future__ import annotations

from callcenter.acd.core import AgentProfile, QueueRules
from callcenter.dialplan.model import Dialplan

__all__ = ["acd_rules"]


def acd_rules(dialplan: Dialplan) -> tuple[list[QueueRules], list[AgentProfile]]:
    queues = [
        QueueRules(
            name=name,
            strategy=queue.strategy,
            skills=dict(queue.skills),
            wrap_up=float(queue.wrap_up),
            max_wait=float(queue.max_wait),
            max_length=queue.max_length,
            ring_timeout=float(queue.ring_timeout),
            relax_after=float(queue.relax_after) if queue.relax_after is not None else None,
        )
        for name, queue in dialplan.queues.items()
    ]
    agents = [
        AgentProfile(
            agent=agent.extension,
            queues=agent.queues,
            skills=dict(agent.skills),
            order=order,
            no_answer_limit=agent.no_answer_limit,
        )
        for order, agent in enumerate(dialplan.agents, start=1)
    ]
    return queues, agents
