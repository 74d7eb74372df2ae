"""The ACD: a pure routing core deciding which waiting contact goes to which agent."""
