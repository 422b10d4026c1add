"""A key server for the proxy's `--keys-url` tests: serves the files of a directory over
HTTPS on 127.0.0.1 (a free port, printed on the first line of stdout) with the test CA's
`localhost` certificate, and logs one line per request to stderr.

usage: jwks_server.py DIR CERT.pem KEY.pem
"""
import http.server
import os
import ssl
import sys

directory, cert, key = sys.argv[1:4]
os.chdir(directory)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler
)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
