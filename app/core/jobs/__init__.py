"""Jobs, local and remote: a job's description, the supervisor, the worker process, the Redis queue."""
