"""The baseline for the webhook benchmark: a Flask app whose one POST endpoint answers 202.

It reads the body and nothing more, so it costs what any Flask webhook receiver under gunicorn
must pay (parse the request, take 28 KB off the socket, answer) and none of Verdict's own work.
Reading the body also keeps the close clean: a server that closes a socket with unread data
sends a TCP reset instead of a FIN.

    gunicorn --workers 2 --bind 127.0.0.1:8000 benchmarks.minimal_app:app
"""

from flask import Flask, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/webhook")
    def webhook() -> tuple[str, int]:
        request.get_data(cache=False)
        return "", 202

    return app


app = create_app()
