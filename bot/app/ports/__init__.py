"""The Protocols the use cases are written against, by concern: `store` (incidents, the
diagnosis trigger), `slack` (where incidents live in Slack, the chat), `containment` (actions
and who carries them out), `schedule` (summaries, reminders, leadership), `changes` (deploys,
flags, git). Adapters implement them; bot/wiring.py plugs them in."""
