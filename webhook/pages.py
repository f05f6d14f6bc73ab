"""Plain HTML pages for people: the run list and a run's status, results and logs (details_url)."""
# ruff: noqa: E501  (HTML templates read better unwrapped)

from flask import Blueprint, Response, abort, current_app, render_template_string, send_file

import storage

bp = Blueprint("pages", __name__)

LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · Verdict</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;max-width:70rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
pre{background:#f6f8fa;padding:.75rem;overflow:auto;max-height:40rem}
.failure,.failed,.error,.timed_out{color:#b31d28}.success,.passed{color:#22863a}.neutral,.skipped{color:#6a737d}
</style></head><body>{{ body|safe }}</body></html>"""

RUN = """
<p><a href="{{ url_for('pages.index') }}">All runs</a></p>
<h1>Run {{ run.id }} — <span class="{{ run.conclusion or run.status }}">{{ run.conclusion or run.status }}</span></h1>
<table>
<tr><th>Repository</th><td>{{ repo.full_name if repo else run.repository_id }}</td></tr>
<tr><th>Commit</th><td><code>{{ run.head_sha }}</code>{% if run.head_branch %} on {{ run.head_branch }}{% endif %}</td></tr>
<tr><th>Trigger</th><td>{{ run.trigger }} (attempt {{ run.attempt }})</td></tr>
<tr><th>Runner</th><td>{{ run.runner or "—" }}</td></tr>
{% if run.peak_memory_mb is not none %}<tr><th>Resources</th><td>peak memory {{ "%.0f"|format(run.peak_memory_mb) }} MB, average {{ "%.0f"|format(run.avg_memory_mb or 0) }} MB, CPU {{ "%.0f"|format(run.avg_cpu_percent or 0) }}% of one core</td></tr>{% endif %}
{% for s in history %}<tr><th>{{ s.status }}{% if s.conclusion %} ({{ s.conclusion }}){% endif %}</th>
<td>{{ s.at.isoformat(timespec="seconds") }}{% if s.note %} — {{ s.note }}{% endif %}</td></tr>{% endfor %}
</table>
{% if run.title %}<h2>{{ run.title }}</h2>{% endif %}
{% if run.error %}<pre>{{ run.error }}</pre>{% endif %}
{% if run.summary %}<details open><summary>Summary (as sent to GitHub)</summary><pre>{{ run.summary }}</pre></details>{% endif %}
<h2>Tests ({{ results|length }})</h2>
{% if results %}<table><tr><th>status</th><th>test</th><th>where</th><th>seconds</th><th>message</th></tr>
{% for t in results %}<tr><td class="{{ t.status }}">{{ t.status }}</td><td>{{ t.classname }}{% if t.classname %}.{% endif %}{{ t.name }}</td>
<td>{% if t.file %}{{ t.file }}{% if t.line %}:{{ t.line }}{% endif %}{% endif %}</td><td>{{ "%.3f"|format(t.duration or 0) }}</td>
<td>{% if t.trace %}<details><summary>{{ t.message[:200] }}</summary><pre>{{ t.trace }}</pre></details>{% else %}{{ t.message }}{% endif %}</td></tr>{% endfor %}
</table>{% endif %}
{% if artifacts %}<h2>Artifacts</h2><table><tr><th>name</th><th>bytes</th><th>sha256</th></tr>
{% for a in artifacts %}<tr><td><a href="{{ url_for('pages.artifact', run_id=run.id, artifact_id=a.id) }}">{{ a.name }}</a></td><td>{{ a.size }}</td><td><code>{{ a.sha256 }}</code></td></tr>{% endfor %}
</table>{% endif %}
<h2>Log</h2><p><a href="{{ url_for('pages.run_log', run_id=run.id) }}">raw</a></p>
<pre>{% for line in log %}{{ line.text }}
{% endfor %}</pre>
{% if run.status != "completed" %}<script>setTimeout(() => location.reload(), 3000)</script>{% endif %}
"""

INDEX = """<h1>Verdict runs</h1>
<table><tr><th>run</th><th>repository</th><th>commit</th><th>trigger</th><th>status</th><th>title</th></tr>
{% for run in runs %}<tr><td><a href="{{ url_for('pages.run_page', run_id=run.id) }}">{{ run.id }}</a></td>
<td>{{ run.repository_id }}</td><td><code>{{ run.head_sha[:12] }}</code></td><td>{{ run.trigger }}</td>
<td class="{{ run.conclusion or run.status }}">{{ run.conclusion or run.status }}</td><td>{{ run.title or "" }}</td></tr>
{% endfor %}</table>"""


def _page(title: str, template: str, **context) -> str:
    return render_template_string(LAYOUT, title=title, body=render_template_string(template, **context))


@bp.get("/")
def index():
    with storage.session_scope(current_app.extensions["verdict"].sessions) as session:
        return _page("Runs", INDEX, runs=storage.latest_runs(session, limit=100))


@bp.get("/runs/<int:run_id>")
def run_page(run_id: int):
    with storage.session_scope(current_app.extensions["verdict"].sessions) as session:
        run = storage.get_run(session, run_id)
        if run is None:
            abort(404)
        return _page(f"Run {run_id}", RUN, run=run, repo=storage.get_repository(session, run.repository_id),
                     history=storage.status_history(session, run_id),
                     results=storage.test_results(session, run_id),
                     log=storage.log_lines(session, run_id, limit=20_000),
                     artifacts=storage.artifacts(session, run_id))


@bp.get("/runs/<int:run_id>/log.txt")
def run_log(run_id: int):
    with storage.session_scope(current_app.extensions["verdict"].sessions) as session:
        if storage.get_run(session, run_id) is None:
            abort(404)
        lines = storage.log_lines(session, run_id, limit=1_000_000)
        text = "".join(f"{line.text}\n" for line in lines)
    return Response(text, mimetype="text/plain")


@bp.get("/runs/<int:run_id>/artifacts/<int:artifact_id>")
def artifact(run_id: int, artifact_id: int):
    """Download an artifact; always as an attachment, since its content came from untrusted tests."""
    with storage.session_scope(current_app.extensions["verdict"].sessions) as session:
        found = next((a for a in storage.artifacts(session, run_id) if a.id == artifact_id), None)
        if found is None:
            abort(404)
        path, name = found.path, found.name
    try:
        return send_file(path, mimetype="application/octet-stream", as_attachment=True,
                         download_name=name.replace("/", "_"))
    except FileNotFoundError:
        abort(410, "this artifact's file is no longer kept")
