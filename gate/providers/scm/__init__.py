"""Source-control hosts: the commit's CI results and the pull request's reviews."""
