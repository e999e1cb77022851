"""A real SMTP server for the tests: Debian's aiosmtpd, with STARTTLS, implicit TLS and AUTH.

Writes each message it accepts as a JSON line to --out and prints its port once it
listens. Run with Debian's own /usr/bin/python3 (python3-aiosmtpd).
"""

import argparse
import asyncio
import email
import email.policy
import json
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, out):
        self.out = out

    async def handle_DATA(self, server, session, envelope):
        # Read back by Python's own mail parser: the test does not judge our encoding with our decoder.
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        record = {
            "headers": [[name, str(value)] for name, value in message.items()],
            "subject": str(message["subject"]),
            "body": message.get_content(),
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            # As received, after the server undid the dot-stuffing.
            "data": envelope.original_content.decode("utf-8", "replace"),
            # STARTTLS sets session.ssl; implicit TLS only shows on the transport.
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "user": session.auth_data.decode() if isinstance(session.auth_data, bytes) else None,
        }
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 2.0.0 OK queued"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, data):
        if isinstance(data, LoginPassword) and data.login == user and data.password == password:
            return AuthResult(success=True, auth_data=data.login)
        return AuthResult(success=False, handled=False)

    return check


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--mode", choices=["plain", "starttls", "tls"], default="plain")
    p.add_argument("--auth", help="user:password the server wants")
    a = p.parse_args()

    context = None
    if a.mode != "plain":
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(a.cert, a.key)
    options = {"hostname": "sink.test", "ident": "aiosmtpd test sink"}
    if a.mode == "starttls":
        options.update(tls_context=context, require_starttls=True)
    if a.auth:
        user, password = a.auth.split(":", 1)
        options.update(
            authenticator=authenticator(user.encode(), password.encode()),
            auth_required=True,
            auth_require_tls=True,
        )
    handler = Sink(a.out)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, **options),
        "127.0.0.1",
        a.port,
        ssl=context if a.mode == "tls" else None,
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


asyncio.run(main())
