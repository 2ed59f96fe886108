"""Render a Slack message payload (Block Kit JSON) to a PNG, for the pictures in the README and docs/.

An approximation of how Slack draws the blocks we use (sections with mrkdwn, quotes and
code blocks, links, actions with link buttons and the action buttons, context), drawn by
headless Chromium.
It is documentation tooling, not part of the product; Slack's own Block Kit Builder
(``replay invoke --dry-run`` prints a link) is the authority.

    python tools/preview_message.py tests/data/failed-traceback.slack.json docs/img/failed.png

With ``--thread`` it draws a failing streak's thread as the Slack thread pane shows it: the
root (with its last ``chat.update`` applied) and its replies, from the payloads the demo
keeps (``.sandbox/slack/``, updates in ``updates/``):

    python tools/preview_message.py --thread .sandbox/slack docs/img/thread.png
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

EMOJI = {
    "tada": "🎉", "scream": "😱", "no_entry_sign": "🚫", "grey_question": "❔",
    "warning": "⚠️", "scissors": "✂️", "rotating_light": "🚨", "white_check_mark": "✅",
    "alarm_clock": "⏰", "checkered_flag": "🏁",
    "eyes": "👀", "mute": "🔇", "loud_sound": "🔊", "repeat": "🔁", "octagonal_sign": "🛑",
    "hourglass_flowing_sand": "⏳", "turtle": "🐢", "bar_chart": "📊", "package": "📦", "game_die": "🎲", "zzz": "💤",
}  # fmt: skip
# Slack user ids in the pictures' payloads, drawn as Slack draws a mention: by name.
USERS = {"U0AMY": "amy", "U0BOB": "bob", "U0LEAD001": "lee", "U0DEMO001": "demo"}

CSS = """
body { font-family: 'Lato', 'Helvetica Neue', Arial, sans-serif; font-size: 15px; color: #1d1c1d;
       margin: 0; padding: 16px 20px; background: #fff; width: 760px; }
.msg { display: flex; gap: 10px; }
.avatar { flex: 0 0 36px; width: 36px; height: 36px; border-radius: 6px; background: #4a154b; color: #fff;
          font-weight: 700; display: flex; align-items: center; justify-content: center; }
.who b { font-weight: 900; } .who span { color: #616061; font-size: 12px; margin-left: 6px; }
.app { background: #e8e8e8; color: #616061; font-size: 10px; padding: 1px 3px; border-radius: 2px; }
.header { font-size: 18px; font-weight: 900; margin: 6px 0 4px; }
.section { margin: 6px 0; line-height: 1.45; white-space: pre-wrap; }
.fields { display: grid; grid-template-columns: 1fr 1fr; gap: 6px 16px; margin: 8px 0; white-space: pre-wrap; }
blockquote { border-left: 4px solid #ddd; margin: 2px 0; padding-left: 10px; }
code { font-family: Menlo, monospace; font-size: 12px; color: #e01e5a; background: #f6f6f6;
       border: 1px solid #e4e4e4; border-radius: 3px; padding: 0 3px; }
.button { display: inline-block; border: 1px solid #bbb; border-radius: 4px; padding: 4px 12px;
          font-weight: 700; font-size: 13px; margin: 6px 8px 6px 0; }
.button.primary { background: #007a5a; border-color: #007a5a; color: #fff; }
.button.danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
hr { border: 0; border-top: 1px solid #e4e4e4; margin: 10px 0; }
.context { color: #616061; font-size: 12px; display: flex; flex-wrap: wrap; gap: 4px 12px; margin: 4px 0; }
pre.code { font-family: Menlo, monospace; font-size: 12px; background: #f8f8f8; border: 1px solid #e4e4e4;
           border-radius: 4px; padding: 8px; margin: 4px 0 8px; white-space: pre-wrap; word-break: break-all; }
.date { color: #1264a3; }
"""


def _code_block(body: str) -> str:
    lines = body.replace("\u200b", "").strip("\n")
    return f'<pre class="code">{html.escape(html.unescape(lines), quote=False)}</pre>'


def mrkdwn(text: str) -> str:
    """Slack mrkdwn → HTML, for the subset the notifier writes (code blocks drawn as they are)."""
    parts = re.split(r"```\n?(.*?)\n?```", text, flags=re.S)
    if len(parts) > 1:
        return "".join(_code_block(part) if n % 2 else mrkdwn(part) for n, part in enumerate(parts) if part)
    links: list[str] = []

    def link(match: re.Match[str]) -> str:
        links.append(html.escape(html.unescape(match[2]), quote=False))
        return f"\x00link{len(links) - 1}\x01"

    text = re.sub(r"<(https?://[^|>]+)\|([^>]*)>", link, text)
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", lambda m: f"\x00date{m[1]}\x01", text)
    text = re.sub(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>", lambda m: f"\x00at{m[1] or 'ml-oncall'}\x01", text)
    text = re.sub(r"<@([UW][A-Z0-9]+)>", lambda m: f"\x00at{USERS.get(m[1], m[1])}\x01", text)
    out = html.escape(html.unescape(text), quote=False)
    out = re.sub(r"\x00link(\d+)\x01", lambda m: f'<span class="date">{links[int(m[1])]}</span>', out)
    out = out.replace("\x00date", '<span class="date">').replace("\x00at", '<span class="date">@')
    out = out.replace("\x01", "</span>")
    # Code spans first, kept aside: Slack formats nothing inside them (a cron's `* * *`).
    spans: list[str] = []

    def code(match: re.Match[str]) -> str:
        spans.append(match[1])
        return f"\x02{len(spans) - 1}\x03"

    out = re.sub(r"`([^`]*)`", code, out)
    out = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", out)
    out = re.sub(r":([a-z_]+):", lambda m: EMOJI.get(m[1], m[0]), out)
    out = re.sub(r"\x02(\d+)\x03", lambda m: f"<code>{spans[int(m[1])]}</code>", out)
    lines = out.split("\n")
    return "\n".join(f"<blockquote>{ln[4:]}</blockquote>" if ln.startswith("&gt;") else ln for ln in lines)


def to_html(payload: dict) -> str:
    """The whole message as a standalone HTML page."""
    parts = []
    for block in payload.get("blocks", []):
        kind = block["type"]
        if kind == "header":
            parts.append(f'<div class="header">{mrkdwn(block["text"]["text"])}</div>')
        elif kind == "section":
            if "text" in block:
                parts.append(f'<div class="section">{mrkdwn(block["text"]["text"])}</div>')
            if block.get("fields"):
                cells = "".join(f"<div>{mrkdwn(f['text'])}</div>" for f in block["fields"])
                parts.append(f'<div class="fields">{cells}</div>')
        elif kind == "actions":
            buttons = "".join(
                f'<span class="button {element.get("style", "")}">{html.escape(element["text"]["text"])}</span>'
                for element in block["elements"]
            )
            parts.append(f'<div class="actions">{buttons}</div>')
        elif kind == "divider":
            parts.append("<hr>")
        elif kind == "context":
            items = "".join(f"<span>{mrkdwn(e['text'])}</span>" for e in block["elements"])
            parts.append(f'<div class="context">{items}</div>')
    return (
        f"<!doctype html><meta charset='utf-8'><style>{CSS}</style><div class='msg'>"
        "<div class='avatar'>V</div><div><div class='who'><b>Vertex Pipelines</b> "
        "<span class='app'>APP</span><span>6:42 AM</span></div>"
        f"{''.join(parts)}</div></div>"
    )


THREAD_CSS = """
.pane { border: 1px solid #ddd; border-radius: 8px; padding: 0 16px 12px; }
.pane-head { font-size: 18px; font-weight: 900; padding: 12px 0; border-bottom: 1px solid #e4e4e4;
             margin: 0 -16px 12px; padding-left: 16px; }
.pane-head span { font-weight: 400; color: #616061; font-size: 14px; margin-left: 6px; }
.bar { display: flex; align-items: center; gap: 8px; color: #616061; font-size: 13px; margin: 10px 0; }
.bar::after { content: ""; flex: 1; border-top: 1px solid #e4e4e4; }
.also { color: #616061; font-size: 12px; margin: 14px 0 4px 46px; }
.gap { height: 14px; }
"""


def _message_div(payload: dict) -> str:
    """One message's HTML, without the page around it."""
    return to_html(payload).split("</style>", 1)[1]


def thread_html(root: dict, replies: list[dict], channel: str = "#ml-alerts") -> str:
    """A thread pane: the root, "N replies", then each reply (broadcast ones marked)."""
    parts = [f'<div class="pane-head">Thread<span>{html.escape(channel)}</span></div>', _message_div(root)]
    count = len(replies)
    parts.append(f'<div class="bar">{count} {"reply" if count == 1 else "replies"}</div>')
    for reply in replies:
        if reply.get("reply_broadcast"):
            parts.append('<div class="also">Also sent to the channel</div>')
        else:
            parts.append('<div class="gap"></div>')
        parts.append(_message_div(reply))
    return (
        f"<!doctype html><meta charset='utf-8'><style>{CSS}{THREAD_CSS}</style>"
        f"<div class='pane'>{''.join(parts)}</div>"
    )


def thread_from_sandbox(folder: Path) -> tuple[dict, list[dict]]:
    """The thread with the most replies among a demo's payloads, its root as last updated."""
    posted = {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
    replies: dict[str, list[dict]] = {}
    for _ts, payload in sorted(posted.items(), key=lambda item: float(item[0])):
        if payload.get("thread_ts"):
            replies.setdefault(payload["thread_ts"], []).append(payload)
    if not replies:
        raise SystemExit(f"no thread in {folder}: run the demo with the Firestore emulator first")
    ts = max(replies, key=lambda key: len(replies[key]))
    root = dict(posted[ts])
    for update in sorted((folder / "updates").glob(f"{ts}.*.json")):
        root.update({k: v for k, v in json.loads(update.read_text()).items() if k not in ("channel", "ts")})
    return root, replies[ts]


def main(argv: list[str] | None = None) -> int:
    """Render one payload file to a PNG with headless Chromium."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "payload", type=Path, help="a payload JSON file, or with --thread the demo's slack/ folder"
    )
    parser.add_argument("png", type=Path)
    parser.add_argument("--height", type=int, default=None, help="default: 900, or 2400 for a thread")
    parser.add_argument("--thread", action="store_true", help="draw the thread found in a demo's payloads")
    args = parser.parse_args(argv)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        print("needs Chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    if args.thread:
        page = thread_html(*thread_from_sandbox(args.payload))
    else:
        page = to_html(json.loads(args.payload.read_text()))
    height = args.height or (2400 if args.thread else 900)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "message.html"
        source.write_text(page)
        subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp}/profile", f"--window-size=800,{height}", "--hide-scrollbars",
             f"--screenshot={args.png.resolve()}", source.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
