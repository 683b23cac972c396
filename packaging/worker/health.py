"""The worker container's health check: its Redis queue answers a ping (exit 0), else 1."""

import os
import sys

import redis

url = os.environ.get("REDIS_URL") or f"redis://{os.environ.get('REDIS_HOST', 'localhost')}:{os.environ.get('REDIS_PORT', '6379')}"
secret = os.environ.get("REDIS_PASSWORD_FILE")
password = open(secret, encoding="utf-8").readline().strip() if secret else os.environ.get("REDIS_PASSWORD") or None
try:
    redis.Redis.from_url(url, password=password, socket_timeout=5, socket_connect_timeout=5).ping()
except Exception as exc:  # noqa: BLE001 - any failure is unhealthy
    print(f"unhealthy: {type(exc).__name__}", file=sys.stderr)
    sys.exit(1)
