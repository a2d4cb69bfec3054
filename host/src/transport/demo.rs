//! The demo pages (`/demo/` on the Janus API's HTTP listener): an EchoTest page, a VideoRoom
//! page (`/demo/videoroom.html`), a TextRoom page (`/demo/textroom.html`), a Streaming page
//! (`/demo/streaming.html`) and the plugin tutorial's page (`/demo/hello.html`) of our own that run janus.js, the client library Janus users
//! already have. janus.js and webrtc-adapter are not part of Portunus: they are read from `demo_assets` (a `node_modules` folder where
//! `npm install janus-gateway` put them) or, without it, loaded from the jsDelivr CDN.

use std::path::PathBuf;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

/// The demo's files, compiled in.
const INDEX_HTML: &str = include_str!("../../demo/index.html");
const ECHOTEST_JS: &str = include_str!("../../demo/echotest.js");
const VIDEOROOM_HTML: &str = include_str!("../../demo/videoroom.html");
const VIDEOROOM_JS: &str = include_str!("../../demo/videoroom.js");
const TEXTROOM_HTML: &str = include_str!("../../demo/textroom.html");
const TEXTROOM_JS: &str = include_str!("../../demo/textroom.js");
const STREAMING_HTML: &str = include_str!("../../demo/streaming.html");
const STREAMING_JS: &str = include_str!("../../demo/streaming.js");
const HELLO_HTML: &str = include_str!("../../demo/hello.html");
const HELLO_JS: &str = include_str!("../../demo/hello.js");
const COMMON_JS: &str = include_str!("../../demo/common.js");

/// A library the pages load: where it sits below `demo_assets`, and where users get it otherwise.
struct Vendor {
    name: &'static str,
    local: &'static str,
    cdn: &'static str,
}

/// The versions the demo was written and tested against (`tests/browser/package.json`).
const VENDORED: [Vendor; 2] = [
    Vendor {
        name: "janus.js",
        local: "janus-gateway/npm/dist/janus.es.js",
        cdn: "https://cdn.jsdelivr.net/npm/janus-gateway@1.4.2/npm/dist/janus.es.js",
    },
    Vendor {
        name: "adapter.js",
        local: "webrtc-adapter/out/adapter.js",
        cdn: "https://cdn.jsdelivr.net/npm/webrtc-adapter@9.0.3/out/adapter.js",
    },
];

/// What the pages need to know about this gateway.
#[derive(Debug, Clone)]
pub struct Demo {
    /// Port of the WebSocket Janus API, if it is on.
    pub ws_port: Option<u16>,
    /// Base path of the HTTP Janus API.
    pub base_path: String,
    /// `demo_assets`: a `node_modules` folder with janus-gateway and webrtc-adapter.
    pub assets: Option<PathBuf>,
}

type Reply = Response<Full<Bytes>>;

impl Demo {
    /// Answers a GET below `/demo`; `None` when the path is not a demo path.
    pub async fn serve(&self, path: &str) -> Option<Reply> {
        let rest = path.strip_prefix("/demo")?;
        Some(match rest {
            "" => redirect("/demo/"),
            "/" | "/index.html" => file("text/html; charset=utf-8", INDEX_HTML.into()),
            "/echotest.js" => file("text/javascript", ECHOTEST_JS.into()),
            "/videoroom.html" => file("text/html; charset=utf-8", VIDEOROOM_HTML.into()),
            "/videoroom.js" => file("text/javascript", VIDEOROOM_JS.into()),
            "/textroom.html" => file("text/html; charset=utf-8", TEXTROOM_HTML.into()),
            "/textroom.js" => file("text/javascript", TEXTROOM_JS.into()),
            "/streaming.html" => file("text/html; charset=utf-8", STREAMING_HTML.into()),
            "/streaming.js" => file("text/javascript", STREAMING_JS.into()),
            "/hello.html" => file("text/html; charset=utf-8", HELLO_HTML.into()),
            "/hello.js" => file("text/javascript", HELLO_JS.into()),
            "/common.js" => file("text/javascript", COMMON_JS.into()),
            "/config.js" => file("text/javascript", self.config_js().into()),
            _ => match VENDORED.iter().find(|v| rest.strip_prefix("/vendor/") == Some(v.name)) {
                Some(v) => self.vendor(v).await,
                None => empty(StatusCode::NOT_FOUND),
            },
        })
    }

    fn config_js(&self) -> String {
        let conf = serde_json::json!({"wsPort": self.ws_port, "basePath": self.base_path});
        format!("export default {conf};\n")
    }

    async fn vendor(&self, v: &Vendor) -> Reply {
        let Some(dir) = &self.assets else { return redirect(v.cdn) };
        match tokio::fs::read(dir.join(v.local)).await {
            Ok(bytes) => file("text/javascript", bytes.into()),
            Err(e) => {
                tracing::warn!("demo: cannot read {} from {}: {e}", v.local, dir.display());
                redirect(v.cdn)
            }
        }
    }
}

fn file(content_type: &'static str, body: Bytes) -> Reply {
    let mut r = Response::new(Full::new(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn empty(status: StatusCode) -> Reply {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

fn redirect(to: &'static str) -> Reply {
    let mut r = empty(StatusCode::FOUND);
    r.headers_mut().insert(header::LOCATION, HeaderValue::from_static(to));
    r
}
