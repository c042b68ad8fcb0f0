class PolicyLoadError(Exception):
    """The policy (or its curated knowledge) could not be read. The message is one line naming the file."""
