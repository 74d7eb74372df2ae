// The pages' script: no framework, no CDN. Data goes into the DOM as text, never as HTML.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

function say(text) {
  const box = document.getElementById("message");
  box.textContent = text;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { box.textContent = ""; }, 6000);
}

async function api(method, path, body) {
  const options = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
  if (method !== "GET") {
    options.headers["X-CSRF-Token"] = csrf();
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body || {});
  }
  const response = await fetch(path, options);
  if (response.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
  const data = await response.json();
  if (!response.ok) { throw new Error(data.error || response.statusText); }
  return data;
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "–" : String(text);
  if (className) { td.className = className; }
  row.appendChild(td);
  return td;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) { return "–"; }
  const s = Math.max(0, Math.round(seconds));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function percent(ratio) { return ratio === null || ratio === undefined ? "–" : (100 * ratio).toFixed(1) + " %"; }

// --- wallboard ------------------------------------------------------------------------------------------

function renderBoard(board) {
  document.getElementById("updated").textContent = "at " + new Date(board.at).toLocaleTimeString();
  const role = document.body.dataset.role;
  const me = document.body.dataset.extension;
  if (role === "agent") {
    const mine = board.agents.find((a) => a.extension === me);
    if (mine) {
      document.getElementById("my-state").textContent = mine.state + (mine.reason ? " (" + mine.reason + ")" : "");
      document.getElementById("my-state").className = "state-" + mine.state;
      document.getElementById("my-since").textContent = "for " + duration(mine.seconds_in_state);
      document.getElementById("my-call").textContent = mine.call ? "On a call from queue " + mine.call.queue : "";
    }
    return;
  }
  const queues = document.querySelector("#queues tbody");
  queues.replaceChildren();
  for (const q of board.queues) {
    const row = document.createElement("tr");
    row.dataset.queue = q.name;
    cell(row, q.title);
    cell(row, q.waiting, "num waiting");
    cell(row, duration(q.longest_wait), "num");
    for (const state of ["available", "on_call", "wrap_up", "paused", "logged_out"]) {
      cell(row, q.agents[state] + (state === "on_call" ? q.agents.ringing : 0), "num");
    }
    cell(row, q.offered, "num offered");
    cell(row, q.answered, "num");
    cell(row, q.abandoned, "num");
    cell(row, percent(q.service_level), "num").title = q.service_level_name + ", T = " + q.target_seconds + " s";
    queues.appendChild(row);
  }
  const agents = document.querySelector("#agents tbody");
  agents.replaceChildren();
  for (const a of board.agents) {
    const row = document.createElement("tr");
    row.dataset.agent = a.extension;
    cell(row, a.extension);
    cell(row, a.name);
    cell(row, a.state + (a.reason ? " (" + a.reason + ")" : ""), "state state-" + a.state);
    cell(row, duration(a.seconds_in_state), "num");
    cell(row, a.call ? a.call.queue + " since " + new Date(a.call.since).toLocaleTimeString() : "");
    if (role === "supervisor") {
      const td = cell(row, "");
      for (const mode of ["listen", "whisper", "barge"]) {
        const button = document.createElement("button");
        button.textContent = mode;
        button.dataset.monitor = mode;
        button.dataset.agent = a.extension;
        td.appendChild(button);
      }
    }
    agents.appendChild(row);
  }
}

function startWallboard() {
  const stream = new EventSource("/api/wallboard/stream");
  stream.addEventListener("board", (event) => renderBoard(JSON.parse(event.data)));
  stream.onerror = () => { document.getElementById("updated").textContent = "(reconnecting…)"; };
  document.addEventListener("click", async (event) => {
    const target = event.target;
    if (!(target instanceof HTMLButtonElement)) { return; }
    try {
      if (target.dataset.monitor) {
        const body = { supervisor: document.body.dataset.extension, agent: target.dataset.agent,
                       mode: target.dataset.monitor };
        const answer = await api("POST", "/api/monitor", body);
        say(target.dataset.monitor + " on " + target.dataset.agent + ": " + answer.status + " (" + answer.session_id + ")");
      } else if (target.dataset.agentAction) {
        const me = document.body.dataset.extension;
        const body = target.dataset.agentAction === "pause" ? { reason: document.getElementById("pause-reason").value } : {};
        const answer = await api("POST", "/api/agents/" + me + "/" + target.dataset.agentAction, body);
        say(answer.state + (answer.pending ? " (after the current call)" : ""));
      }
    } catch (error) { say(error.message); }
  });
}

// --- recordings -----------------------------------------------------------------------------------------

function startRecordings() {
  const form = document.getElementById("recording-search");
  const search = async () => {
    const query = new URLSearchParams();
    for (const [name, value] of new FormData(form)) { if (value) { query.set(name, String(value)); } }
    try {
      const data = await api("GET", "/api/recordings?" + query);
      const body = document.querySelector("#recordings tbody");
      body.replaceChildren();
      for (const r of data.recordings) {
        const row = document.createElement("tr");
        row.dataset.recording = r.recording_id;
        cell(row, new Date(r.started_at).toLocaleString());
        cell(row, r.queue);
        cell(row, r.agent);
        cell(row, r.linkedid);
        cell(row, r.seconds !== undefined ? r.seconds : r.duration);
        const listen = cell(row, "");
        const file = cell(row, "");
        if (!r.purged_at) {
          const play = document.createElement("button");
          play.textContent = "▶ play";
          play.addEventListener("click", () => {
            const audio = document.createElement("audio");
            audio.controls = true;
            audio.preload = "auto";
            audio.src = "/api/recordings/" + encodeURIComponent(r.recording_id) + "/audio?inline=1";
            listen.replaceChildren(audio);
            audio.play().catch(() => {});
          });
          listen.appendChild(play);
          const link = document.createElement("a");
          link.href = "/api/recordings/" + encodeURIComponent(r.recording_id) + "/audio";
          link.textContent = "download";
          file.appendChild(link);
        } else {
          listen.textContent = "purged";
        }
        body.appendChild(row);
      }
      say(data.recordings.length + " recording(s)");
    } catch (error) { say(error.message); }
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); search(); });
  search();
}

// --- admin ----------------------------------------------------------------------------------------------

function showDialplan(result, verb) {
  const problems = document.getElementById("dialplan-problems");
  problems.replaceChildren();
  for (const problem of result.problems) {
    const item = document.createElement("li");
    item.className = "error";
    item.textContent = problem;
    problems.appendChild(item);
  }
  document.getElementById("dialplan-result").textContent = result.ok
    ? verb + ": OK" + (result.changed === undefined ? "" : result.changed ? ", version " + result.version + " live" : ", nothing changed")
    : verb + ": " + result.problems.length + " problem(s); the running dialplan is unchanged";
}

function startAdmin() {
  const version = async () => {
    const info = await api("GET", "/api/dialplan");
    document.getElementById("dialplan-version").textContent =
      "Version " + info.version + " live: " + info.numbers + " number(s), " + info.queues + " queue(s), " +
      info.agents + " agent(s), " + info.supervisors + " supervisor(s)";
  };
  document.getElementById("dialplan-check").addEventListener("click", async () => {
    try { showDialplan(await api("POST", "/api/dialplan/check"), "Check"); } catch (error) { say(error.message); }
  });
  document.getElementById("dialplan-reload").addEventListener("click", async () => {
    try { showDialplan(await api("POST", "/api/dialplan/reload"), "Reload"); await version(); } catch (error) { say(error.message); }
  });
  version().catch((error) => say(error.message));
}

document.addEventListener("DOMContentLoaded", () => {
  const page = document.body.dataset.page;
  if (page === "wallboard") { startWallboard(); }
  if (page === "recordings") { startRecordings(); }
  if (page === "admin") { startAdmin(); }
  if (page === "reports" && window.startReports) { window.startReports(); }
});
