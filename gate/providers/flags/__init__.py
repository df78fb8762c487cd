"""Feature-flag providers: kill switches turned off on rollback."""
