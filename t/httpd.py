#!/usr/bin/env python3
"""httpd.py: an HTTP server on 127.0.0.1 for pm's fetch tests.

usage: httpd.py ROOT PORTFILE LOGFILE

Serves the files under ROOT on a free port, which it writes to PORTFILE
once it listens; logs one line per request ("GET /path") to LOGFILE.
The first part of a path picks how the server answers:

  /f/NAME            the file, with its Content-Length
  /fail/N/NAME       503 for the first N requests of this path, then the file
  /cut/N/NAME        half the file, then the connection closes, for the
                     first N requests of this path (Content-Length is whole)
  /stall/NAME        nothing for 600 seconds
  /slow/MS/NAME      the file after MS milliseconds (a distant server)
  /status/CODE/NAME  that status, with a short body
  /redir/NAME        302 to /f/NAME
"""

import http.server
import os
import socketserver
import sys
import threading
import time
import urllib.parse

ROOT, PORTFILE, LOGFILE = sys.argv[1:4]
counts = {}
lock = threading.Lock()
log = open(LOGFILE, "a", buffering=1)


def count(path):
    with lock:
        counts[path] = counts.get(path, 0) + 1
        return counts[path]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def file(self, name):
        path = os.path.join(ROOT, name)
        if "/.." in "/" + name or not os.path.isfile(path):
            self.answer(404, b"no such file\n")
            return None
        with open(path, "rb") as f:
            return f.read()

    def answer(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def ctype(self, name):
        ext = os.path.splitext(name)[1].lower()
        return {".jpg": "image/jpeg", ".png": "image/png",
                ".mp4": "video/mp4", ".avi": "video/x-msvideo",
                ".txt": "text/plain", ".html": "text/html; charset=utf-8"}.get(ext, "application/octet-stream")

    def do_GET(self):
        with lock:
            log.write("%s %s\n" % (self.command, self.path))
        # A query only makes a URL distinct; the path picks the answer.
        path = urllib.parse.urlsplit(self.path).path
        parts = path.lstrip("/").split("/")
        mode = parts[0]
        if mode == "f" and len(parts) >= 2:
            name = "/".join(parts[1:])
            body = self.file(name)
            if body is not None:
                self.answer(200, body, self.ctype(name))
        elif mode in ("fail", "cut") and len(parts) >= 3:
            n = int(parts[1])
            name = "/".join(parts[2:])
            k = count(self.path)
            body = self.file(name)
            if body is None:
                return
            if k > n:
                self.answer(200, body, self.ctype(name))
            elif mode == "fail":
                self.answer(503, b"try again later\n")
            else:
                self.send_response(200)
                self.send_header("Content-Type", self.ctype(name))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                self.close_connection = True
        elif mode == "slow" and len(parts) >= 3:
            time.sleep(int(parts[1]) / 1000.0)
            body = self.file("/".join(parts[2:]))
            if body is not None:
                self.answer(200, body, self.ctype(parts[-1]))
        elif mode == "stall":
            time.sleep(600)
        elif mode == "status" and len(parts) >= 2:
            code = int(parts[1])
            self.answer(code, b"status %d\n" % code)
        elif mode == "redir" and len(parts) >= 2:
            self.send_response(302)
            self.send_header("Location", "/f/" + "/".join(parts[1:]))
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.answer(404, b"no such mode\n")

    do_HEAD = do_GET


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


server = Server(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
