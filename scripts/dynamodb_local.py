#!/usr/bin/env python3
"""Run moto's DynamoDB-compatible server on 127.0.0.1 for local runs and tests.

Why not `moto_server` itself: it serves requests on many threads, and moto does not lock a
table between checking a write's condition and applying it, so two concurrent conditional
writes can both pass. Real DynamoDB makes each conditional write and each transaction atomic;
serving one request at a time gives the same guarantee, which the concurrency tests rely on.
"""
import argparse
import sys

try:
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import run_simple
except ImportError:
    sys.exit("moto's server is not installed: pip install 'moto[server]'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", args.port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
