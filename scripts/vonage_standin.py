#!/usr/bin/env python3
"""A local stand-in for Vonage's US short code opt-in API, for scripts/local.

Answers in the documented shapes (docs/vonage.md; testdata/vonage/us-short-codes/): every value a string,
dates "YYYY-MM-DD HH:MM:SS" UTC. It prints each request it gets (number masked, secret never
shown) and lists them at GET /_requests, so you can see what the functions asked.

- POST/GET /sc/us/alert/opt-in/manage/json  api_key, api_secret, msisdn -> opt-in "true",
  except for numbers ending in 0199, which get opt-in "false" (to try a refusal).
- POST/GET /sc/us/alert/opt-in/query/json   page (0-based), page-size -> the numbers it holds
  as opted out (seeded with two, plus any it was told about at POST /_opt_out?msisdn=...).
- POST /sms/json  from, to, text, client-ref -> accepted (status "0") with a message id, in the
  documented send shape; numbers ending in 0198 get status "7" (barred), to try a refusal.
  The texts it was asked to send are listed at GET /_sends (numbers masked).
"""
import argparse
import datetime
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
REQUESTS = []
SENDS = []
OPTED_OUT = {"15558937009": "2014-06-27 18:31:33", "15554908975": "2014-07-18 16:20:20"}


def mask(value):
    return "*" * max(len(value) - 4, 0) + value[-4:]


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class Handler(BaseHTTPRequestHandler):
    server_version = "vonage-standin/1"

    def params(self):
        url = urllib.parse.urlsplit(self.path)
        pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        if self.command == "POST":
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace")
            pairs += urllib.parse.parse_qsl(body, keep_blank_values=True)
        return url.path, dict(pairs)

    def reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.handle_call()

    def do_POST(self):
        self.handle_call()

    def handle_call(self):
        path, params = self.params()
        if path == "/_requests":
            with LOCK:
                return self.reply(200, list(REQUESTS))
        if path == "/_sends":
            with LOCK:
                return self.reply(200, list(SENDS))
        if path == "/_opt_out" and params.get("msisdn"):
            with LOCK:
                OPTED_OUT[params["msisdn"]] = now()
            return self.reply(200, {"ok": True})
        seen = {
            "method": self.command,
            "path": path,
            "api_key": params.get("api_key", ""),
            "api_secret": "(given)" if params.get("api_secret") else "(missing)",
            "msisdn": mask(params.get("msisdn") or params.get("to", "")),
            "secret_in_url": "api_secret=" in urllib.parse.urlsplit(self.path).query,
        }
        with LOCK:
            REQUESTS.append(seen)
        print("vonage stand-in:", json.dumps(seen), flush=True)
        if not params.get("api_key") or not params.get("api_secret"):
            return self.reply(401, {"error-code": "401", "error-code-label": "authentication failed"})
        if path == "/sc/us/alert/opt-in/manage/json":
            msisdn = params.get("msisdn", "")
            if not msisdn.isdigit():
                return self.reply(400, {"error-code": "3", "error-code-label": "invalid msisdn"})
            if msisdn.endswith("0199"):
                return self.reply(200, {"msisdn": msisdn, "opt-in": "false", "opt-out": "true"})
            with LOCK:
                OPTED_OUT.pop(msisdn, None)
            return self.reply(200, {"msisdn": msisdn, "opt-in": "true", "opt-in-date": now(), "opt-out": "false"})
        if path == "/sms/json":
            to = params.get("to", "")
            status = "7" if to.endswith("0198") else "0"
            with LOCK:
                message_id = f"LOCAL{len(SENDS) + 1:011d}"
                SENDS.append({
                    "at": now(), "from": params.get("from", ""), "to": mask(to),
                    "text": params.get("text", ""), "client_ref": params.get("client-ref", ""),
                    "status": status,
                })
            message = {"to": to, "status": status, "client-ref": params.get("client-ref", "")}
            if status == "0":
                message.update({"message-id": message_id, "remaining-balance": "10.0", "message-price": "0.0333", "network": "310090"})
            else:
                message["error-text"] = "Number barred"
            return self.reply(200, {"message-count": "1", "messages": [message]})
        if path == "/sc/us/alert/opt-in/query/json":
            page = int(params.get("page", "0") or 0)
            size = int(params.get("page-size", "100") or 100)
            with LOCK:
                numbers = sorted(OPTED_OUT.items())
            chunk = numbers[page * size:(page + 1) * size]
            return self.reply(200, {
                "opt-in-count": str(len(numbers)),
                "opt-in-list": [
                    {"msisdn": n, "opt-in": "false", "opt-out": "true", "opt-out-date": d} for n, d in chunk
                ],
            })
        return self.reply(404, {"error-code": "404", "error-code-label": "no such path"})

    def log_message(self, *args):
        pass  # each call is printed once, masked, in handle_call


def main():
    parser = argparse.ArgumentParser(description="Local stand-in for Vonage's opt-in API")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    try:
        server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    except OSError as e:
        sys.exit(f"vonage stand-in: cannot listen on 127.0.0.1:{args.port}: {e.strerror}")
    print(f"vonage stand-in on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
