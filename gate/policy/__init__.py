"""Before a deploy: change request + policies → findings → decision. Never prints or exits."""
