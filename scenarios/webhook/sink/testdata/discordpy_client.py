"""Drives the Discord sink with discord.py's SyncWebhook (Debian's
python3-discord), as a user's bot would. Run by discordpy_test.go.

Usage: discordpy_client.py burst|features BASE_URL WEBHOOK_ID [PNG_PATH THREAD_ID]
The webhook token comes in the SINK_TOKEN environment variable. BASE_URL is
the sink's API root (http://127.0.0.1:PORT/api/v10): discord.py's routes are
pointed there before anything is sent, so nothing leaves the machine.
Prints one JSON object on stdout.
"""

import json
import os
import sys
import threading

import discord
import discord.http

mode, base, webhook_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
if not base.startswith("http://127.0.0.1:"):
    raise SystemExit("refusing a base URL off the loopback: " + base)
discord.http.Route.BASE = base
token = os.environ["SINK_TOKEN"]


def hook():
    # One per thread: discord.py's sync adapter (and its per-bucket lock) is
    # thread-local, so a burst from threads is concurrent, as users run it.
    return discord.SyncWebhook.partial(webhook_id, token)


if mode == "burst":
    n = 12
    ok, errors = [], []
    lock = threading.Lock()

    def send(i):
        try:
            msg = hook().send(content="burst %d" % i, wait=True)
            with lock:
                ok.append(str(msg.id))
        except Exception as e:  # noqa: BLE001 - every failure is reported
            with lock:
                errors.append("%s: %s" % (type(e).__name__, e))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({"ok": len(ok), "ids": sorted(set(ok)), "errors": errors}))
elif mode == "features":
    png, thread_id = sys.argv[4], int(sys.argv[5])
    embed = discord.Embed(title="delivery p99", description="2.1 s")
    with open(png, "rb") as f:
        file = discord.File(f, filename="chart.png", description="p99 chart")
        msg = hook().send(content="report", embed=embed, file=file, thread=discord.Object(id=thread_id), wait=True)
    a = msg.attachments[0]
    fetched = hook().fetch()  # GET the webhook
    edited = msg.edit(content="report (final)")  # PATCH .../messages/{id}?thread_id=
    msg.delete()  # DELETE .../messages/{id}?thread_id=
    try:
        hook().fetch_message(msg.id, thread=discord.Object(id=thread_id))
        gone = "still there"
    except discord.NotFound as e:
        gone = "NotFound %d" % e.code
    print(json.dumps({
        "webhook_name": fetched.name,
        "webhook_channel_id": str(fetched.channel_id),
        "edited_content": edited.content,
        "edited_at": edited.edited_at.isoformat() if edited.edited_at else None,
        "edited_attachments": len(edited.attachments),
        "after_delete": gone,
        "channel_id": str(msg.channel.id),
        "position": msg.position,
        "embed_type": msg.embeds[0].type,
        "embed_title": msg.embeds[0].title,
        "attachment": {
            "id": str(a.id), "filename": a.filename, "size": a.size, "content_type": a.content_type,
            "width": a.width, "height": a.height, "url": a.url, "proxy_url": a.proxy_url,
            "description": a.description,
        },
    }))
else:
    raise SystemExit("unknown mode " + mode)
