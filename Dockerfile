# The Verdict service image: `gunicorn wsgi:app` by default; the same image runs `verdict worker`.
#   docker build -t verdict .
#   docker run --env-file .env -p 3000:3000 verdict                 # web
#   docker run --env-file .env -v /var/run/docker.sock:/var/run/docker.sock verdict verdict worker
# Without a registry, pass a local Debian/Python base: --build-arg BASE_IMAGE=<image with python3.11>.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git bubblewrap ca-certificates \
 && rm -rf /var/lib/apt/lists/*

RUN useradd --system --create-home --home-dir /var/lib/verdict verdict
WORKDIR /app
COPY pyproject.toml README.md wsgi.py ./
COPY verdict ./verdict
COPY webhook ./webhook
COPY jobs ./jobs
COPY runners ./runners
COPY checks ./checks
COPY storage ./storage
COPY scope ./scope
RUN pip install --no-cache-dir .

ENV VERDICT_DATA_DIR=/var/lib/verdict/data \
    DATABASE_URL=sqlite:////var/lib/verdict/verdict.db \
    PYTHONUNBUFFERED=1
USER verdict
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=2)" || exit 1
CMD ["gunicorn", "--bind", "0.0.0.0:3000", "--workers", "2", "--access-logfile", "-", "wsgi:app"]
