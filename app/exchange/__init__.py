"""Exchange with other platforms: the daily signed extracts of the records in force (issue 16)."""
