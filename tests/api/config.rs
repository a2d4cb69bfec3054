//! Janus configuration files: a full Janus-style folder, broken files, unknown keys, shutdown.

use serde_json::json;

use crate::harness::{run_to_exit, Conf, Gateway, TempDir};

/// A `janus.jcfg` written the way Janus's own samples are: every section, lists, comments of
/// every kind, quoted numbers and yes/no booleans.
const JANUS_STYLE_CORE: &str = r#"
# A Janus-style core configuration.
general: {
	configs_folder = "/etc/janus"			# ignored by Portunus
	plugins_folder = "/usr/lib/janus/plugins"
	transports_folder = "/usr/lib/janus/transports"
	events_folder = "/usr/lib/janus/events"
	loggers_folder = "/usr/lib/janus/loggers"
	log_to_stdout = true
	debug_level = 4
	debug_timestamps = true
	debug_colors = false
	admin_secret = "janusoverlord"
	server_name = "MyJanusInstance"
	session_timeout = "45"
	candidates_timeout = 45
	reclaim_session_timeout = 0
	protected_folders = [
		"/bin",
		"/boot",
		"/dev"
	]
	/* a block comment
	   over two lines */
	// token_auth = true
}

certificates: {
	#cert_pem = "/path/to/certificate.pem"
}

media: {
	#ipv6 = true
}

nat: {
	ice_lite = "no"
	full_trickle = false
}

plugins: {
	#disable = "libjanus_voicemail.so,libjanus_recordplay.so"
}

transports: {
	#disable = "libjanus_rabbitmq.so"
}

loggers: {
}

events: {
}
"#;

fn with_core(core: &str) -> Vec<(String, String)> {
    vec![
        ("janus.jcfg".to_owned(), core.to_owned()),
        (
            "janus.transport.http.jcfg".to_owned(),
            "general: { http = true; port = 0; ip = \"127.0.0.1\" }\nadmin: { admin_http = false }\n"
                .to_owned(),
        ),
        (
            "janus.transport.websockets.jcfg".to_owned(),
            "general: { ws = true; ws_port = 0; ws_ip = \"127.0.0.1\" }\n".to_owned(),
        ),
    ]
}

#[tokio::test]
async fn janus_style_folder_loads_and_applies() {
    let gw = Gateway::with(Conf { admin: false, extra: with_core(JANUS_STYLE_CORE), ..Conf::default() });
    let info = gw.http().get("/info").await.json();
    assert_eq!(info["server-name"], "MyJanusInstance");
    assert_eq!(info["session-timeout"], 45);
    assert_eq!(info["ice-lite"], false);
    assert!(!gw.addrs.contains_key("admin-http"), "admin_http = false must not listen");
}

#[test]
fn syntax_error_stops_startup_with_file_and_line() {
    let (code, stderr) = run_to_exit(&with_core("general: {\n  session_timeout = 60\n  oops = \n}\n"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("janus.jcfg"), "{stderr}");
    assert!(stderr.contains("line 4") || stderr.contains("line 3"), "{stderr}");
}

#[test]
fn bad_value_stops_startup_naming_file_line_and_key() {
    let (code, stderr) = run_to_exit(&with_core("general: {\n\n  session_timeout = \"soon\"\n}\n"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("janus.jcfg:3: general.session_timeout"), "{stderr}");
    let (code, stderr) = run_to_exit(&with_core("general: {\n  debug_level = 12\n}\n"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("janus.jcfg:2: general.debug_level"), "{stderr}");
}

#[test]
fn broken_transport_file_stops_startup() {
    let mut files = with_core("general: {}\n");
    files[1].1 = "general: { port = \"eighty\" }\n".to_owned();
    let (code, stderr) = run_to_exit(&files);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("janus.transport.http.jcfg:1: general.port"), "{stderr}");
}

#[tokio::test]
async fn unknown_keys_are_warned_about_once_and_ignored() {
    let gw = Gateway::with(Conf::general("frobnicate = 7"));
    assert_eq!(gw.http().post("", &json!({"janus": "ping", "transaction": "t"})).await["janus"], "pong");
    let mut gw = gw;
    gw.terminate();
    let logs = gw.wait_log("shutting down");
    let warnings = logs.matches("general.frobnicate").count();
    assert_eq!(warnings, 1, "{logs}");
}

#[tokio::test]
async fn sigterm_shuts_down_cleanly() {
    let mut gw = Gateway::start();
    gw.http().create().await;
    let status = gw.terminate();
    assert!(status.success(), "exit status {status:?}");
    gw.wait_log("shutting down");
}

/// The Debian `janus` package's own configuration folder (its core file and every plugin file)
/// loads; only the transport files are swapped for loopback ports chosen by the system.
#[tokio::test]
async fn debian_janus_samples_load() {
    let Ok(entries) = std::fs::read_dir("/etc/janus") else {
        assert!(std::env::var_os("CI").is_none(), "/etc/janus is missing: install the Debian janus package");
        return;
    };
    let mut files: Vec<(String, String)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jcfg"))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name == "janus.jcfg" || name.starts_with("janus.plugin.")
        })
        .map(|p| {
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    assert!(files.iter().any(|(n, _)| n == "janus.jcfg"));
    let transports = with_core("");
    files.extend(transports.into_iter().skip(1));
    let gw = Gateway::with(Conf { admin: false, extra: files, ..Conf::default() });
    let info = gw.http().get("/info").await.json();
    assert_eq!(info["janus"], "server_info");
    assert_eq!(info["session-timeout"], 60);
    // Every plugin loads, though Janus's files have no `sandbox` sections (SIP binds a socket).
    for name in ["echotest", "videoroom", "audiobridge", "streaming", "textroom", "sip", "nosip", "videocall"]
    {
        let package = format!("janus.plugin.{name}");
        assert!(info["plugins"].get(&package).is_some(), "{package} not loaded: {}", gw.logs());
    }
}

/// `plugins: { disable }` in `janus.jcfg`, with Janus's library names: those plugins are not
/// loaded (not in `info`, attaching gives Janus's 460), the others are, and the key is not
/// warned about as unsupported.
#[tokio::test]
async fn disabled_plugins_are_not_loaded() {
    let conf = Conf {
        core_sections: "plugins: { disable = \"libjanus_videocall.so,libjanus_nosip.so\" }\n".into(),
        ..Conf::default()
    };
    let gw = Gateway::with(conf);
    let http = gw.http();
    let info = http.post("", &json!({"janus": "info", "transaction": "i"})).await;
    let plugins = info["plugins"].as_object().expect("plugins");
    assert!(plugins.contains_key("janus.plugin.echotest"), "{info}");
    assert!(
        !plugins.contains_key("janus.plugin.videocall") && !plugins.contains_key("janus.plugin.nosip"),
        "{info}"
    );
    let sid = http.create().await;
    let r = http
        .post(
            &format!("/{sid}"),
            &json!({"janus": "attach", "transaction": "a", "plugin": "janus.plugin.videocall"}),
        )
        .await;
    crate::harness::assert_error(&r, 460);
    let r = http
        .post(
            &format!("/{sid}"),
            &json!({"janus": "attach", "transaction": "a", "plugin": "janus.plugin.echotest"}),
        )
        .await;
    assert_eq!(r["janus"], "success", "{r}");
    let logs = gw.wait_log("disabled (plugins.disable)");
    assert!(!logs.contains("'disable'"), "the key is known: {logs}");
}

/// The DTLS identity's files in `certificates`: a key the DTLS stack cannot sign with (RSA),
/// half a pair, or an encrypted key stop the start with the reason.
#[test]
fn an_unusable_dtls_identity_stops_startup_with_the_reason() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dtls");
    let (cert, rsa) = (fixtures.join("cert.pem"), fixtures.join("rsa-key.pem"));
    let core =
        format!("certificates: {{ cert_pem = \"{}\" cert_key = \"{}\" }}\n", cert.display(), rsa.display());
    let (code, stderr) = run_to_exit(&with_core(&core));
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("certificates") && stderr.contains("ECDSA"), "{stderr}");
    let half = format!("certificates: {{ cert_pem = \"{}\" }}\n", cert.display());
    let (code, stderr) = run_to_exit(&with_core(&half));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("certificates.cert_pem: cert_key is needed"), "{stderr}");
    let encrypted = half.replace(" }", " cert_key = \"k.pem\" cert_pwd = \"secret\" }");
    let (code, stderr) = run_to_exit(&with_core(&encrypted));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("certificates.cert_pwd"), "{stderr}");
}

/// A STUN server that does not answer stops the start, as in Janus, unless
/// `ignore_unreachable_ice_server` lets the gateway start without its public address.
#[test]
fn an_unreachable_stun_server_stops_startup_unless_ignored() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let nat = |more: &str| {
        format!(
            "nat: {{ ice_enforce_list = \"lo\" stun_server = \"127.0.0.1\" stun_port = {port} {more} }}\n\
             media: {{ media_threads = 1 }}\n"
        )
    };
    let (code, stderr) = run_to_exit(&with_core(&nat("")));
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("STUN") && stderr.contains("ignore_unreachable_ice_server"), "{stderr}");
    let gw = Gateway::in_folder(crate::harness::write_conf(&with_core(&nat(
        "ignore_unreachable_ice_server = true",
    ))));
    gw.wait_log("started without its public address");
}

/// `log_to_file`, `log_prefix`, `log_to_stdout` and `pid_file`, as Janus has them: every log line
/// goes to the file after the prefix and none to the console; the pid file holds the gateway's
/// process id while it runs, keeps a second gateway with the same file from starting, and goes
/// when the gateway stops.
#[tokio::test]
async fn the_log_and_the_pid_go_where_janus_jcfg_says() {
    let dir = TempDir::new("logs");
    let (log, pid) = (dir.join("gateway.log"), dir.join("gateway.pid"));
    let pid_line = format!("pid_file = \"{}\"", pid.display());
    let general = format!(
        "log_to_file = \"{}\"\nlog_prefix = \"[gw] \"\nlog_to_stdout = false\n{pid_line}",
        log.display()
    );
    let mut gw = Gateway::with(Conf::general(&general));
    assert_eq!(gw.http().post("", &json!({"janus": "ping", "transaction": "t"})).await["janus"], "pong");
    assert_eq!(std::fs::read_to_string(&pid).expect("the pid file").trim(), gw.pid().to_string());

    let (code, stderr) = run_to_exit(&with_core(&format!("general: {{ {pid_line} }}")));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&format!("the pid file {} is locked", pid.display())), "{stderr}");

    assert!(gw.terminate().success());
    assert!(!pid.exists(), "the pid file outlived the gateway");
    let text = std::fs::read_to_string(&log).expect("the log file");
    assert!(text.contains("shutting down"), "{text}");
    assert!(text.lines().all(|l| l.starts_with("[gw] ")), "{text}");
    // (What comes before the configuration is read, its own warnings, still goes there.)
    let console = gw.logs_after_exit();
    assert!(
        !console.contains("plugin(s) loaded") && !console.contains("shutting down"),
        "logged to the console: {console}"
    );
}

/// A log file that cannot be opened stops the start with the reason, as in Janus.
#[test]
fn an_unwritable_log_file_stops_startup() {
    let (code, stderr) = run_to_exit(&with_core("general: { log_to_file = \"/nonexistent/dir/x.log\" }"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cannot open the log file /nonexistent/dir/x.log"), "{stderr}");
}

/// `info` names the libraries the gateway is built on under `dependencies`, as Janus's does,
/// unless `hide_dependencies`.
#[tokio::test]
async fn info_names_the_dependencies_unless_hidden() {
    let gw = Gateway::start();
    let info = gw.http().get("/info").await.json();
    assert_eq!(info["dependencies"]["str0m"], "0.25.0", "{info}");
    assert!(info["dependencies"]["wasmtime"].as_str().is_some_and(|v| v.starts_with("48.")), "{info}");
    let hidden = Gateway::with(Conf::general("hide_dependencies = true"));
    let info = hidden.http().get("/info").await.json();
    assert!(info.get("dependencies").is_none() && info["plugins"].is_object(), "{info}");
}

/// `exit_on_dl_error`: a file that is no plugin stops the start, with the reason (a plugin
/// whose `init` fails does not: `plugins::plugin_whose_init_fails_is_not_loaded`).
#[test]
fn a_plugin_that_does_not_load_stops_startup_with_exit_on_dl_error() {
    let dir = TempDir::new("broken-plugin");
    std::fs::write(dir.join("broken.wasm"), b"\0asm not really").unwrap();
    let general =
        format!("general: {{ wasm_plugins_folder = \"{}\" exit_on_dl_error = true }}", dir.display());
    let (code, stderr) = run_to_exit(&with_core(&general));
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("broken.wasm not loaded") && stderr.contains("(exit_on_dl_error)"), "{stderr}");
}

/// `debug_timestamps = false` and `debug_colors = true` shape every log line, as in Janus.
#[tokio::test]
async fn log_lines_follow_debug_timestamps_and_debug_colors() {
    let gw = Gateway::with(Conf::general("debug_timestamps = false\ndebug_colors = true"));
    let logs = gw.wait_log("ready");
    let line = logs.lines().find(|l| l.contains("ready")).expect("the ready line");
    assert!(!line.starts_with("20"), "no time: {line}");
    assert!(line.contains('\u{1b}'), "coloured: {line:?}");
}
