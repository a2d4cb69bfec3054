//! Accounts: one per handle, registered at a registrar (`register`, `unregister`), refreshed
//! before the registration expires, answering digest challenges.

use ezk_sip_types::Method;
use portunus_sdk::bridge::Bridge;
use portunus_sdk::{Field, HandleRef, JsonType, Message, PluginError, Value};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::call::Call;
use crate::digest::{self, Credentials, Secret};
use crate::headers;
use crate::msg::{self, Builder, Transport};
use crate::subscribe::Subscription;
use crate::txn::{Job, Purpose};
use crate::{code, err, event, json, push, token, Sip, CODES};

/// Where a registration is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reg {
    /// Not registered.
    None,
    /// A REGISTER is out.
    Registering,
    /// Registered (or a guest, who does not register).
    Registered,
    /// A REGISTER with Expires 0 is out.
    Unregistering,
}

/// A handle's SIP account, and its call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    /// The handle.
    pub handle: HandleRef,
    /// The account's URI (`username`), as given.
    pub username: String,
    /// Its user part: incoming INVITEs for it come to this handle.
    pub user: String,
    /// `display_name`.
    pub display: Option<String>,
    /// How it authenticates (none: it does not).
    pub creds: Option<Credentials>,
    /// The REGISTER's Request-URI (the registrar: `proxy`, else the account's domain).
    pub registrar: String,
    /// Where every request goes (`outbound_proxy`, else `proxy`; none: the request's target).
    pub proxy: Option<String>,
    /// `proxy` as given (the event handlers hear it).
    #[serde(default)]
    pub proxy_uri: Option<String>,
    /// Without a proxy, the registrar's address (the user's domain, over the transport its DNS
    /// records chose: RFC 3263 §4.1, [`located`]), for the REGISTERs.
    #[serde(default)]
    pub registrar_addr: Option<String>,
    /// The registration lifetime asked for, seconds.
    pub ttl: u32,
    /// Where the registration is.
    pub reg: Reg,
    /// A guest (`type: guest`, or `send_register: false`): never sends REGISTER.
    pub guest: bool,
    /// The REGISTERs' Call-ID, From tag and last CSeq (one registration, §10.2).
    pub reg_call_id: String,
    pub reg_tag: String,
    pub reg_cseq: u32,
    /// The nonce the last REGISTER answered (a second challenge of it is a failure).
    pub reg_nonce: Option<String>,
    /// The refresh timer.
    pub refresh: u64,
    /// Our address as the registrar saw it (`behind_nat`): the Contact gives it instead of
    /// ours.
    #[serde(default)]
    pub public: Option<String>,
    /// The keep-alive timer (`keepalive_interval`).
    #[serde(default)]
    pub keepalive: u64,
    /// How its requests go: over TCP with `force_tcp`, else as its next hop's URI asks
    /// (`sips:` or `transport=tls`: TLS); its Contact says so. (Saved as `tcp` before TLS.)
    #[serde(default, alias = "tcp")]
    pub transport: Transport,
    /// Janus's `master_id`: the account's id for helper handles.
    #[serde(default)]
    pub master_id: u32,
    /// A helper handle of the account with `master_id`.
    #[serde(default)]
    pub helper: bool,
    /// The application's headers for the REGISTERs (`headers`).
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The far end's headers events show (`incoming_header_prefixes`).
    #[serde(default)]
    pub header_prefixes: Vec<String>,
    /// The `User-Agent` of its requests (`user_agent`; none: the configured one).
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Parameters its REGISTERs add to their Contact URI (`contact_params`), `;name=value`.
    #[serde(default)]
    pub contact_params: String,
    /// Its subscriptions, one per event package.
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    /// The call, when there is one.
    pub call: Option<Call>,
    /// Janus's `unique_id` of the session, which the event handlers hear.
    #[serde(default = "portunus_sdk::rooms::random_uuid")]
    pub unique_id: String,
    /// The media bridge of the call.
    pub bridge: Bridge,
}

/// `user`'s Contact at `local` (with `transport=tcp` or `tls` as its address says), or at
/// `public`, the address a registrar saw (`behind_nat`).
pub fn contact(user: &str, public: Option<&str>, local: &str) -> String {
    let (transport, bare) = msg::transport_of(local);
    format!("<sip:{user}@{}{}>", public.unwrap_or(bare), transport.param())
}

/// `contact_params` as Contact URI parameters, `;name=value` each (`;name` for an empty value).
/// As in Janus only string values count; a name or value that is not RFC 3261's `paramchar`s
/// is 444.
fn contact_params(body: &Map<String, Value>) -> Result<String, PluginError> {
    let Some(Value::Object(params)) = body.get("contact_params") else { return Ok(String::new()) };
    let paramchars =
        |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()[]/:&+$%".contains(&b));
    let mut out = String::new();
    for (name, value) in params {
        let Value::String(value) = value else { continue };
        if name.is_empty() || !paramchars(name) || !paramchars(value) {
            return Err(err(code::INVALID_ELEMENT, format!("Invalid element (contact_params: {name})")));
        }
        out.push(';');
        out.push_str(name);
        if !value.is_empty() {
            out.push('=');
            out.push_str(value);
        }
    }
    Ok(out)
}

/// A Contact (`<uri>`) with `params` added to its URI.
fn with_params(contact: String, params: &str) -> String {
    match contact.strip_suffix('>') {
        Some(uri) if !params.is_empty() => format!("{uri}{params}>"),
        _ => contact,
    }
}

impl Account {
    /// An account that is not registered.
    pub fn new(handle: HandleRef) -> Self {
        Account {
            handle,
            username: String::new(),
            user: String::new(),
            display: None,
            creds: None,
            registrar: String::new(),
            proxy: None,
            proxy_uri: None,
            registrar_addr: None,
            ttl: 0,
            reg: Reg::None,
            guest: false,
            reg_call_id: String::new(),
            reg_tag: String::new(),
            reg_cseq: 0,
            reg_nonce: None,
            refresh: 0,
            keepalive: 0,
            public: None,
            transport: Transport::Udp,
            master_id: 0,
            helper: false,
            headers: Vec::new(),
            header_prefixes: Vec::new(),
            user_agent: None,
            contact_params: String::new(),
            subscriptions: Vec::new(),
            call: None,
            unique_id: portunus_sdk::rooms::random_uuid(),
            bridge: Bridge::new(handle),
        }
    }

    /// Our Contact: our address (`local`), or the one the registrar saw (`behind_nat`), with
    /// its transport.
    pub fn contact(&self, local: &str) -> String {
        contact(&self.user, self.public.as_deref(), local)
    }

    /// Incoming calls may come to it.
    pub fn is_reachable(&self) -> bool {
        self.reg == Reg::Registered && !self.user.is_empty()
    }

    /// Admin `handle_info`.
    pub fn info(&self) -> Value {
        json!({
            "username": self.username,
            "registration_status": format!("{:?}", self.reg).to_ascii_lowercase(),
            "guest": self.guest,
            "helper": self.helper,
            "master_id": self.master_id,
            "call_id": self.call.as_ref().map(|c| c.call_id.clone()),
            "call_status": self.call.as_ref().map(|c| format!("{:?}", c.state).to_ascii_lowercase()),
            "legs": self.bridge.legs.len(),
        })
    }

    /// Where a request to `uri` goes: the proxy, else the registrar's located address for the
    /// registrar, else the URI's own address; over the account's transport.
    pub fn next_hop(&self, uri: &str) -> Result<String, msg::Malformed> {
        let hop = match (&self.proxy, &self.registrar_addr) {
            (Some(p), _) => p.clone(),
            (None, Some(addr)) if uri == self.registrar => addr.clone(),
            (None, _) => msg::address_over(&msg::uri(uri)?, self.transport)?,
        };
        Ok(msg::on(self.transport, &hop))
    }
}

/// Where `uri` leads: its address, over the transport its domain's DNS records choose when
/// the URI names none (RFC 3263 §4.1: the host reads the NAPTR and SRV records), else as
/// [`msg::address_of`] says.
fn located(uri: &ezk_sip_types::uri::SipUri) -> Result<String, msg::Malformed> {
    use portunus_sdk::SipTransport;
    let found = msg::locatable(uri).and_then(|domain| portunus_sdk::host::locate_sip(&domain));
    let Some(service) = found else { return msg::address_of(uri) };
    let transport = match service.transport {
        SipTransport::Udp => Transport::Udp,
        SipTransport::Tcp => Transport::Tcp,
        SipTransport::Tls => Transport::Tls,
    };
    Ok(msg::service_address(transport, &service.name))
}

impl Sip {
    /// `register`.
    pub(crate) fn register(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        // Janus's fields, in its order (`proxy` and `outbound_proxy` may be null: below).
        const FIELDS: &[Field] = &[
            Field::new("type", JsonType::String),
            Field::new("send_register", JsonType::Bool),
            Field::new("force_udp", JsonType::Bool),
            Field::new("force_tcp", JsonType::Bool),
            Field::new("sips", JsonType::Bool),
            Field::new("rfc2543_cancel", JsonType::Bool),
            Field::new("username", JsonType::String).required(),
            Field::new("secret", JsonType::String),
            Field::new("ha1_secret", JsonType::String),
            Field::new("authuser", JsonType::String),
            Field::new("display_name", JsonType::String),
            Field::new("user_agent", JsonType::String),
            Field::new("headers", JsonType::Object),
            Field::new("contact_params", JsonType::Object),
            Field::new("master_id", JsonType::Integer),
            Field::new("refresh", JsonType::Bool),
            Field::new("incoming_header_prefixes", JsonType::Array),
            Field::new("register_ttl", JsonType::Integer),
        ];
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        let flag = |k: &str| body.get(k).and_then(Value::as_bool) == Some(true);
        let handle = msg.handle;
        // A guest registers again at will, as in Janus; a REGISTER in flight or done is 445,
        // unless the request refreshes the registration with new values.
        let refresh = flag("refresh");
        let a = self.account(handle);
        let registered = a.reg == Reg::Registering
            || a.reg == Reg::Unregistering
            || (a.reg == Reg::Registered && !a.guest);
        if registered && !refresh {
            return Err(err(code::ALREADY_REGISTERED, format!("Already registered ({})", a.user)));
        }
        if refresh && a.username.is_empty() {
            return Err(err(code::UNKNOWN, "Nothing to refresh: the handle never registered"));
        }
        // An unknown type is a plain account, as in Janus.
        let (guest_type, helper) = match s("type").as_deref() {
            Some("guest") => (true, false),
            Some("helper") => (false, true),
            _ => (false, false),
        };
        if helper {
            return self.register_helper(msg, body);
        }
        if self.account(handle).helper {
            return Err(err(code::HELPER_ERROR, "Can't register on a helper session"));
        }
        if guest_type && body.contains_key("send_register") {
            return Err(err(
                code::INVALID_ELEMENT,
                "Conflicting elements: send_register cannot be true if guest is true",
            ));
        }
        // Registered without a REGISTER: a guest, or `send_register: false`.
        let guest = guest_type || body.get("send_register").and_then(Value::as_bool) == Some(false);
        if flag("force_udp") && flag("force_tcp") {
            return Err(err(
                code::INVALID_ELEMENT,
                "Conflicting elements: force_udp and force_tcp cannot both be true",
            ));
        }
        let hop = |k: &str| -> Result<Option<(String, ezk_sip_types::uri::SipUri)>, PluginError> {
            // Null is no proxy; anything else but a string is refused.
            let p = match body.get(k) {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::String(p)) => p.clone(),
                Some(_) => return Err(PluginError::invalid_type(code::INVALID_ELEMENT, k, "a string")),
            };
            let bad = || err(code::INVALID_ADDRESS, format!("Invalid {k} address {p}"));
            let u = msg::uri(&p).map_err(|_| bad())?;
            msg::address_of(&u).map_err(|_| bad())?;
            Ok(Some((p.clone(), u)))
        };
        let proxy = hop("proxy")?;
        let outbound = hop("outbound_proxy")?;
        let username = s("username").unwrap_or_default();
        let invalid = || err(code::INVALID_ADDRESS, format!("Invalid user address {username}"));
        let uri = msg::uri(&username).map_err(|_| invalid())?;
        let user = msg::user_of(&uri).ok_or_else(invalid)?;
        // Only a `guest` needs no secret (one may keep it, for its SUBSCRIBEs' and calls'
        // challenges); `send_register: false` alone still does, as in Janus.
        let secret = Secret::of(body, !guest_type)?;
        if secret.is_none() && !guest_type {
            return Err(err(code::MISSING_ELEMENT, "Missing element (secret or ha1_secret)"));
        }
        let contact_params = contact_params(body)?;
        let domain = msg::host_of(&uri);
        let proxy_uri = proxy.as_ref().map(|(u, _)| u.clone());
        let registrar = proxy_uri.clone().unwrap_or_else(|| format!("sip:{domain}"));
        // A next hop whose URI names neither its transport nor its port takes the transport its
        // domain's DNS records choose (RFC 3263 §4.1), unless one is forced; a refresh keeps the
        // registration's.
        let forced = flag("force_tcp") || flag("force_udp");
        let previous = self.account(handle).transport;
        let address = |u: &ezk_sip_types::uri::SipUri| match (forced, refresh) {
            (true, _) => msg::address_of(u),
            (false, true) => msg::address_over(u, previous),
            (false, false) => located(u),
        };
        let next = outbound
            .or(proxy)
            .map(|(p, u)| address(&u).map_err(|_| err(code::INVALID_ADDRESS, format!("Invalid address {p}"))))
            .transpose()?;
        // The registrar's address, when it is the user's domain (where a REGISTER goes; a
        // guest's domain is no server of its).
        let registrar_addr = match (&next, guest) {
            (None, false) => address(&uri).ok(),
            _ => None,
        };
        // The transport: TCP when forced, else what the next hop's URI (or the user's) asks,
        // or its domain's records.
        let asked = match next.as_ref().or(registrar_addr.as_ref()) {
            Some(hop) => msg::transport_of(hop).0,
            None => msg::address_of(&uri).map_or(Transport::Udp, |a| msg::transport_of(&a).0),
        };
        let transport =
            match (flag("force_tcp"), asked) {
                (true, Transport::Tls) => return Err(err(
                    code::INVALID_ELEMENT,
                    "Conflicting elements: force_tcp cannot be true with a sips: or transport=tls address",
                )),
                (true, _) => Transport::Tcp,
                (false, asked) => asked,
            };
        self.can_use(transport)?;
        let default_ttl = self.conf().register_ttl;
        let a = self.account(handle);
        let old_user = std::mem::replace(&mut a.user, user.clone());
        if old_user != user && self.users.get(&old_user) == Some(&handle.handle) {
            self.users.remove(&old_user);
        }
        let a = self.account(handle);
        a.username = username;
        a.display = s("display_name");
        a.creds = secret.map(|secret| Credentials { user: s("authuser").unwrap_or(user), secret });
        a.registrar = registrar;
        a.proxy = next;
        a.proxy_uri = proxy_uri;
        a.registrar_addr = registrar_addr;
        a.transport = transport;
        a.ttl = body.get("register_ttl").and_then(Value::as_u64).map_or(0, |t| t as u32);
        a.guest = guest;
        a.headers = headers::custom(body);
        a.header_prefixes = headers::prefixes(body);
        a.user_agent = s("user_agent");
        a.contact_params = contact_params;
        // A refresh goes on in the registration's Call-ID (RFC 3261 §10.2.4), its REGISTERs
        // under way forgotten; a new registration starts its own Call-ID.
        if refresh {
            self.forget_registers(handle.handle);
        }
        let a = self.account(handle);
        if !refresh || a.reg_call_id.is_empty() {
            a.reg_call_id = token();
            a.reg_tag = token();
        }
        a.reg_nonce = None;
        if a.master_id == 0 {
            a.master_id = (portunus_sdk::rooms::random_u64() as u32).max(1);
        }
        let master_id = a.master_id;
        self.masters.insert(master_id, handle.handle);
        let a = self.account(handle);
        if guest {
            a.reg = Reg::Registered;
            let (user, identity, unique_id) = (a.user.clone(), a.username.clone(), a.unique_id.clone());
            self.users.insert(user.clone(), handle.handle);
            let registered = json!({"event": "registered", "username": user, "register_sent": false, "master_id": master_id});
            push(handle, Some(&msg.transaction), &event(None, registered), None);
            portunus_sdk::notify_event(Some(handle), || {
                json!({"event": "registered", "identity": identity, "type": "guest", "master_id": master_id,
                       "unique_id": unique_id})
            });
            return Ok(());
        }
        if a.ttl == 0 {
            a.ttl = default_ttl;
        }
        self.account(handle).reg = Reg::Registering;
        if let Err(e) = self.send_register(handle.handle, None) {
            self.account(handle).reg = Reg::None;
            return Err(err(code::INVALID_ADDRESS, e));
        }
        push(handle, Some(&msg.transaction), &event(None, json!({"event": "registering"})), None);
        Ok(())
    }

    /// `unregister`: REGISTER with Expires 0.
    pub(crate) fn unregister(&mut self, msg: &Message) -> Result<(), PluginError> {
        let a = self.account(msg.handle);
        if a.username.is_empty() {
            return Err(err(code::WRONG_STATE, "Wrong state (register first)"));
        }
        if a.reg != Reg::Registered || a.guest {
            return Err(err(code::WRONG_STATE, "Wrong state (not registered)"));
        }
        a.reg = Reg::Unregistering;
        a.reg_nonce = None;
        let refresh = std::mem::take(&mut a.refresh);
        let keepalive = std::mem::take(&mut a.keepalive);
        self.unschedule(refresh);
        self.unschedule(keepalive);
        self.send_register(msg.handle.handle, None).map_err(|e| err(code::INVALID_ADDRESS, e))?;
        push(msg.handle, Some(&msg.transaction), &event(None, json!({"event": "unregistering"})), None);
        Ok(())
    }

    /// Sends the account's REGISTER (Expires 0 when unregistering), answering `challenge`.
    fn send_register(&mut self, handle: u64, auth: Option<(String, bool)>) -> Result<(), String> {
        let local = self.account_local(handle);
        let agent = self.user_agent(handle);
        let Some(a) = self.accounts.get_mut(&handle) else { return Ok(()) };
        a.reg_cseq += 1;
        let expires = if a.reg == Reg::Unregistering { 0 } else { a.ttl };
        let to = a.next_hop(&a.registrar).map_err(|e| e.0)?;
        let registrar = msg::uri(&a.registrar).map_err(|e| e.0)?;
        let aor = msg::uri(&a.username).map_err(|e| e.0)?;
        let branch = format!("z9hG4bK{}", token());
        let mut b = Builder::request(Method::REGISTER, &registrar)
            .named(&msg::via(&local, &branch))
            .header("Max-Forwards", "70")
            .typed(ezk_sip_types::Name::FROM, &msg::from_to(&aor, a.display.as_deref(), Some(&a.reg_tag)))
            .typed(ezk_sip_types::Name::TO, &msg::from_to(&aor, a.display.as_deref(), None))
            .named(&msg::call_id(&a.reg_call_id))
            .header("CSeq", format!("{} REGISTER", a.reg_cseq))
            .header("Contact", with_params(a.contact(&local), &a.contact_params))
            .header("Expires", expires.to_string())
            .header("User-Agent", agent)
            .custom(&a.headers);
        if let Some((value, proxy)) = auth {
            b = b.header(if proxy { "Proxy-Authorization" } else { "Authorization" }, value);
        }
        let text = b.finish(None, "");
        self.start_client(handle, Purpose::Register, &branch, "REGISTER", text, to);
        Ok(())
    }

    /// The registrar answered.
    pub(crate) fn register_response(&mut self, handle: u64, m: &msg::SipMessage, code: u16) {
        if code < 200 {
            return;
        }
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        let h = a.handle;
        let unregistering = a.reg == Reg::Unregistering;
        if code == 401 || code == 407 {
            if let (Some((c, proxy)), Some(creds)) = (digest::challenge(&m.headers), a.creds.clone()) {
                if a.reg_nonce.as_deref() != Some(c.nonce.as_str()) {
                    a.reg_nonce = Some(c.nonce.to_string());
                    let answer = digest::answer(&c, &creds, "REGISTER", &a.registrar, &token());
                    if self.send_register(handle, Some((answer, proxy))).is_ok() {
                        return;
                    }
                }
            }
        }
        let reason = m.status().and_then(|s| s.reason.as_ref()).map(|r| r.to_string()).unwrap_or_default();
        let local = self.account_local(handle);
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        // (Over TCP the registrar saw our connection's ephemeral port: no Contact of that.)
        let behind_nat = self.conf.as_ref().is_some_and(|c| c.behind_nat) && a.transport == Transport::Udp;
        a.reg_nonce = None;
        if (200..300).contains(&code) {
            if unregistering {
                a.reg = Reg::None;
                let user = std::mem::take(&mut a.user);
                if self.users.get(&user) == Some(&handle) {
                    self.users.remove(&user);
                }
                push(h, None, &event(None, json!({"event": "unregistered", "username": user})), None);
                portunus_sdk::notify_event(Some(h), || {
                    told_registration("unregistered", &a.username, a.proxy_uri.as_deref())
                });
                return;
            }
            a.reg = Reg::Registered;
            let expires = granted_expires(m).unwrap_or(a.ttl).max(1);
            let (user, master_id, old_refresh) = (a.user.clone(), a.master_id, a.refresh);
            // Behind a NAT, the registrar saw another address than ours: the Contact gives
            // that one from now on, and the registration is made again with it.
            let seen = m.seen_at().filter(|s| behind_nat && *s != local);
            let moved = seen.filter(|s| a.public.as_ref() != Some(s));
            if let Some(public) = &moved {
                portunus_sdk::info!("[{handle}] the registrar sees us at {public}: registering that Contact");
                a.public = moved.clone();
            }
            self.users.insert(user.clone(), handle);
            self.unschedule(old_refresh);
            // Refresh ahead of expiry: 30 s before, or half way for short ones.
            let at = if expires > 60 { expires - 30 } else { expires.div_ceil(2) };
            let refresh = self.schedule(Job::Reregister(handle), at.saturating_mul(1000));
            let interval = self.conf().keepalive_interval;
            let keepalive = match self.accounts.get(&handle) {
                Some(a) if a.keepalive == 0 && interval > 0 => {
                    self.schedule(Job::Keepalive(handle), interval.saturating_mul(1000))
                }
                _ => 0,
            };
            if let Some(a) = self.accounts.get_mut(&handle) {
                a.refresh = refresh;
                if keepalive != 0 {
                    a.keepalive = keepalive;
                }
            }
            let mut registered = json!({"event": "registered", "username": user, "register_sent": true, "master_id": master_id});
            if let Some(a) = self.accounts.get(&handle) {
                headers::tag(&mut registered, m, &a.header_prefixes);
                portunus_sdk::notify_event(Some(h), || {
                    told_registration("registered", &a.username, a.proxy_uri.as_deref())
                });
            }
            push(h, None, &event(None, registered), None);
            if moved.is_some() {
                if let Err(e) = self.send_register(handle, None) {
                    portunus_sdk::warn!("[{handle}] cannot register the public Contact: {e}");
                }
            }
            return;
        }
        // A refusal: unregistered (Janus tells `registration_failed` either way).
        let was = a.reg;
        a.reg = Reg::None;
        if self.users.get(&a.user) == Some(&handle) {
            let user = a.user.clone();
            self.users.remove(&user);
        }
        let what = if was == Reg::Unregistering { "unregistered" } else { "registration_failed" };
        let mut failed = json!({"event": what, "code": code, "reason": reason});
        headers::tag(&mut failed, m, &a.header_prefixes);
        push(h, None, &event(None, failed), None);
        portunus_sdk::notify_event(
            Some(h),
            || json!({"event": "registration_failed", "code": code, "reason": reason}),
        );
    }

    /// Time to refresh a registration.
    pub(crate) fn reregister(&mut self, handle: u64) {
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        if a.reg != Reg::Registered || a.guest {
            return;
        }
        a.refresh = 0;
        a.reg_nonce = None;
        if let Err(e) = self.send_register(handle, None) {
            portunus_sdk::warn!("[{handle}] cannot refresh the registration: {e}");
        }
    }

    /// Time for a keep-alive (`keepalive_interval`): an OPTIONS to the registrar (or the
    /// outbound proxy) keeps NAT bindings on the way open, while the account is registered.
    pub(crate) fn keepalive(&mut self, handle: u64) {
        let local = self.account_local(handle);
        let agent = self.user_agent(handle);
        let interval = self.conf().keepalive_interval;
        let Some(a) = self.accounts.get_mut(&handle) else { return };
        a.keepalive = 0;
        if a.reg != Reg::Registered || a.guest || interval == 0 {
            return;
        }
        let (Ok(to), Ok(registrar), Ok(aor)) =
            (a.next_hop(&a.registrar), msg::uri(&a.registrar), msg::uri(&a.username))
        else {
            return;
        };
        // In the registration's Call-ID, with its next CSeq.
        a.reg_cseq += 1;
        let branch = format!("z9hG4bK{}", token());
        let text = Builder::request(Method::OPTIONS, &registrar)
            .named(&msg::via(&local, &branch))
            .header("Max-Forwards", "70")
            .typed(ezk_sip_types::Name::FROM, &msg::from_to(&aor, None, Some(&a.reg_tag)))
            .typed(ezk_sip_types::Name::TO, &msg::from_to(&registrar, None, None))
            .named(&msg::call_id(&a.reg_call_id))
            .header("CSeq", format!("{} OPTIONS", a.reg_cseq))
            .header("User-Agent", agent)
            .finish(None, "");
        self.start_client(handle, Purpose::Quiet, &branch, "OPTIONS", text, to);
        let next = self.schedule(Job::Keepalive(handle), interval.saturating_mul(1000));
        if let Some(a) = self.accounts.get_mut(&handle) {
            a.keepalive = next;
        }
    }

    /// A request of ours will get no final answer: `code` stands for it (408 after 64·T1, 503
    /// when its connection failed, as RFC 3261 §8.1.3.1 has a transport error taken).
    pub(crate) fn no_answer(&mut self, handle: u64, purpose: Purpose, request: &str, code: u16) {
        let reason = msg::reason_phrase(code);
        match purpose {
            Purpose::Register => {
                let Some(a) = self.accounts.get_mut(&handle) else { return };
                let h = a.handle;
                let was = std::mem::replace(&mut a.reg, Reg::None);
                let what = if was == Reg::Unregistering { "unregistered" } else { "registration_failed" };
                let failed = json!({"event": what, "code": code, "reason": reason});
                push(h, None, &event(None, failed), None);
                portunus_sdk::notify_event(
                    Some(h),
                    || json!({"event": "registration_failed", "code": code, "reason": reason}),
                );
            }
            Purpose::Invite => self.call_failed(handle, code, reason, None),
            Purpose::Bye | Purpose::Cancel => self.end_response(handle, purpose, code),
            Purpose::Message => {
                let Some(a) = self.accounts.get(&handle) else { return };
                let delivery = json!({"event": "messagedelivery", "code": code, "reason": reason});
                push(a.handle, None, &event(None, delivery), None);
            }
            Purpose::Subscribe => {
                if let Ok(call_id) = msg::parse(request.as_bytes()).and_then(|r| r.call_id()) {
                    self.subscription_failed(handle, &call_id, code, reason, None);
                }
            }
            Purpose::Quiet => {}
        }
    }
}

/// The lifetime the registrar granted: our Contact's `expires`, else `Expires`.
fn granted_expires(m: &msg::SipMessage) -> Option<u32> {
    msg::contact_expires(m).or_else(|| m.header("Expires")?.trim().parse().ok())
}

/// What the event handlers hear of a registration that went through (Janus's `registered`,
/// `unregistered`): the account's identity and its proxy.
fn told_registration(event: &str, identity: &str, proxy: Option<&str>) -> Value {
    let mut told = json!({"event": event, "identity": identity});
    if let Some(proxy) = proxy {
        told["proxy"] = json!(proxy);
    }
    told
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn contact_params_take_strings_of_paramchars() {
        let b = body(json!({"contact_params": {"line": "1", "pn-prid": "a:b", "flag": "", "n": 5}}));
        // Strings only, as Janus; an empty value is a bare name.
        assert_eq!(contact_params(&b).unwrap(), ";flag;line=1;pn-prid=a:b");
        assert_eq!(
            with_params("<sip:alice@127.0.0.1:5060>".into(), ";line=1"),
            "<sip:alice@127.0.0.1:5060;line=1>"
        );
        assert_eq!(with_params("<sip:alice@127.0.0.1>".into(), ""), "<sip:alice@127.0.0.1>");
        for bad in [json!({"a": "b>"}), json!({"a": "b\r\nX: y"}), json!({"a b": "c"}), json!({"": "c"})] {
            let e = contact_params(&body(json!({"contact_params": bad}))).unwrap_err();
            assert_eq!(e.code, code::INVALID_ELEMENT, "{bad}");
        }
        assert_eq!(contact_params(&body(json!({}))).unwrap(), "");
    }

    #[test]
    fn a_secret_is_a_password_or_its_ha1() {
        let both = body(json!({"secret": "p", "ha1_secret": "h"}));
        assert_eq!(Secret::of(&both, true).unwrap_err().code, code::INVALID_ELEMENT);
        assert_eq!(Secret::of(&both, false).unwrap(), Some(Secret::Password("p".into())));
        assert_eq!(
            Secret::of(&body(json!({"ha1_secret": "h"})), true).unwrap(),
            Some(Secret::Ha1("h".into()))
        );
        assert_eq!(Secret::of(&body(json!({"secret": 5})), true).unwrap(), None);
    }
}
