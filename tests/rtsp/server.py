#!/usr/bin/python3
"""Headless RTSP test server (GStreamer gst-rtsp-server 1.22, Debian 12).

Serves a live VP8 video (pt 96, stream pay0) + Opus audio (pt 111, stream pay1)
test stream from one *shared* media factory, so every client sees the same
stream.

Usage:
  /usr/bin/python3 server.py [--port N] [--path /test] [--tone HZ]
                             [--user U --password P [--auth digest|basic]]
                             [--protocols udp|tcp|any]
                             [--session-timeout S] [--strict-keepalive] [--verbose]
                             [--no-audio] [--no-video]

Prints exactly one line on stdout once it listens (then flushes):
  READY rtsp://127.0.0.1:PORT/PATH
and then, with --keyframe-requests, one line per keyframe request (an RTCP PLI or FIR from
a client, which GStreamer turns into a force-key-unit event towards the encoder):
  KEYFRAME-REQUEST
--port 0 (the default) picks a free port. Exits 0 on SIGTERM/SIGINT.

Needs: python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-base
(opus, audiotestsrc, videotestsrc), gstreamer1.0-plugins-good (vp8, rtp).
Use /usr/bin/python3 (Debian's python3-gi is not visible to pyenv pythons).
"""
import argparse
import os
import signal
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def log(msg):
    sys.stderr.write("server.py %s %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def log_request(ctx):
    """One line per handled request: method, uri and the headers that matter."""
    try:
        req = ctx.request
        _res, method, uri, _ver = req.parse_request()
        parts = ["%s %s" % (GstRtsp.rtsp_method_as_text(method), uri)]
        H = GstRtsp.RTSPHeaderField
        for name, field in (("Session", H.SESSION), ("Transport", H.TRANSPORT),
                            ("Range", H.RANGE), ("User-Agent", H.USER_AGENT),
                            ("Authorization", H.AUTHORIZATION)):
            res, val = req.get_header(field, 0)
            if res == GstRtsp.RTSPResult.OK and val is not None:
                parts.append("%s: %s" % (name, val))
        log("request: " + " | ".join(parts))
    except Exception as e:  # noqa: BLE001
        log("request: <cannot dump: %s>" % e)


def build_launch(args):
    parts = []
    if not args.no_video:
        parts.append(
            "videotestsrc is-live=true pattern={pat} "
            "! video/x-raw,width=320,height=240,framerate=15/1 "
            "! vp8enc deadline=1 keyframe-max-dist={kf} "
            "! rtpvp8pay pt=96 name=pay0".format(pat=args.pattern, kf=args.keyframe_max_dist)
        )
    if not args.no_audio:
        # pay index must be contiguous from 0: audio is pay1 with video, pay0 without
        idx = 0 if args.no_video else 1
        parts.append(
            "audiotestsrc is-live=true wave=sine freq={hz} "
            "! audioconvert ! audioresample ! opusenc "
            "! rtpopuspay pt=111 name=pay{idx}".format(hz=args.tone, idx=idx)
        )
    if not parts:
        sys.exit("nothing to serve (--no-audio and --no-video)")
    return "( " + " ".join(parts) + " )"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--path", default="/test")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--auth", choices=["digest", "basic"], default="digest")
    ap.add_argument("--tone", type=float, default=440.0, help="audio sine Hz")
    ap.add_argument("--pattern", default="smpte", help="videotestsrc pattern")
    ap.add_argument("--protocols", choices=["udp", "tcp", "any"], default="any")
    ap.add_argument("--session-timeout", type=int, default=0,
                    help="RTSP Session timeout (s) to advertise; 0 = default (60)")
    ap.add_argument("--strict-keepalive", action="store_true",
                    help="drop a playing client (remove its sessions, close its "
                         "connection) when it sends no RTSP request for the session "
                         "timeout; GStreamer alone never expires a session whose "
                         "RTSP connection is still open")
    ap.add_argument("--verbose", action="store_true",
                    help="log every successful request (method, uri, Session, Transport, ...) to stderr")
    ap.add_argument("--no-audio", action="store_true")
    ap.add_argument("--keyframe-max-dist", type=int, default=15,
                    help="frames between the encoder's own keyframes")
    ap.add_argument("--keyframe-requests", action="store_true",
                    help="print KEYFRAME-REQUEST when a client asks the video for a keyframe")
    ap.add_argument("--no-video", action="store_true")
    args = ap.parse_args()
    if bool(args.user) != bool(args.password is not None):
        ap.error("--user and --password go together")
    if not args.path.startswith("/"):
        args.path = "/" + args.path

    Gst.init(None)
    loop = GLib.MainLoop()

    server = GstRtspServer.RTSPServer()
    server.set_address(args.bind)
    server.set_service(str(args.port))

    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(build_launch(args))
    factory.set_shared(True)
    lt = GstRtsp.RTSPLowerTrans
    factory.set_protocols({
        "udp": lt.UDP | lt.UDP_MCAST,
        "tcp": lt.TCP,
        "any": lt.UDP | lt.UDP_MCAST | lt.TCP,
    }[args.protocols])

    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        if args.auth == "digest":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(args.user, args.password, token)
        else:
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(args.user, args.password), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role("user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        perms.add_permission_for_role("user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
        factory.set_permissions(perms)

    server.get_mount_points().add_factory(args.path, factory)

    if args.keyframe_requests and not args.no_video:
        def on_upstream(_pad, info):
            event = info.get_event()
            s = event.get_structure() if event else None
            if s is not None and s.get_name() == "GstForceKeyUnit":
                print("KEYFRAME-REQUEST", flush=True)
            return Gst.PadProbeReturn.OK

        def on_configure(_factory, media):
            pay = media.get_element().get_by_name("pay0")
            pay.get_static_pad("sink").add_probe(Gst.PadProbeType.EVENT_UPSTREAM, on_upstream)
        factory.connect("media-configure", on_configure)

    timeout_s = args.session_timeout if args.session_timeout > 0 else 60
    clients = {}  # RTSPClient -> {"last": monotonic s, "played": bool}

    def on_client(_server, client):
        st = clients[client] = {"last": time.monotonic(), "played": False}

        def touched(_c, ctx, played=False):
            st["last"] = time.monotonic()
            if played:
                st["played"] = True
            if args.verbose:
                log_request(ctx)
        for sig in ("options-request", "describe-request", "setup-request",
                    "pause-request", "teardown-request", "set-parameter-request",
                    "get-parameter-request"):
            client.connect(sig, touched)
        client.connect("play-request", lambda c, ctx: touched(c, ctx, True))
        client.connect("closed", lambda c: clients.pop(c, None))
        if args.session_timeout > 0:
            client.connect("new-session", lambda _c, sess: sess.set_timeout(args.session_timeout))
    server.connect("client-connected", on_client)

    def housekeeping():
        # sessions whose client went away expire after their timeout
        n = server.get_session_pool().cleanup()
        if n:
            log("expired %d RTSP session(s)" % n)
        if args.strict_keepalive:
            now = time.monotonic()
            for client, st in list(clients.items()):
                if st["played"] and now - st["last"] > timeout_s:
                    log("strict-keepalive: no request for %.1fs, dropping client" % (now - st["last"]))
                    clients.pop(client, None)
                    pool = server.get_session_pool()

                    def drop(_c, sess):
                        # stop the media for this session, then forget it
                        sess.filter(lambda _s, sm: (sm.set_state(Gst.State.NULL),
                                                    GstRtspServer.RTSPFilterResult.REMOVE)[1])
                        pool.remove(sess)
                        return GstRtspServer.RTSPFilterResult.REMOVE
                    client.session_filter(drop)
                    client.close()
        return GLib.SOURCE_CONTINUE
    GLib.timeout_add(500, housekeeping)

    if server.attach(None) == 0:
        sys.exit("cannot listen on %s:%d" % (args.bind, args.port))
    port = server.get_bound_port()
    host = args.bind if args.bind not in ("0.0.0.0", "::") else "127.0.0.1"
    sys.stdout.write("READY rtsp://%s:%d%s\n" % (host, port, args.path))
    sys.stdout.flush()

    def quit_(*_a):
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, quit_)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, quit_)
    loop.run()
    # Drop every client (closes their RTSP connections), give the main loop a
    # moment to process that, then leave without running GStreamer/GObject
    # finalizers at interpreter teardown (those race with streaming threads and
    # occasionally segfault).
    server.client_filter(lambda _s, _c: GstRtspServer.RTSPFilterResult.REMOVE)
    ctx = GLib.MainContext.default()
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline:
        ctx.iteration(False)
        time.sleep(0.01)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
