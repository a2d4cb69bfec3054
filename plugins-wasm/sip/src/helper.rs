//! Helper handles (`register` with `type: helper` and the account's `master_id`): more
//! handles for one account, each with a call of its own, as Janus has for several calls at
//! once. A helper sends no REGISTER; it calls as the account, and an incoming call for a busy
//! account goes to a helper without one.

use portunus_sdk::{Field, JsonType, Message, PluginError, Value};
use serde_json::Map;

use crate::account::Reg;
use crate::headers;
use crate::{code, err, event, json, push, Sip, CODES};

impl Sip {
    /// `register` with `type: helper`: the handle takes the details of the account with
    /// `master_id` (`registered` with `helper: true`).
    pub(crate) fn register_helper(
        &mut self,
        msg: &Message,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        const FIELDS: &[Field] = &[Field::new("master_id", JsonType::Integer)];
        portunus_sdk::validate(body, FIELDS, &CODES)?;
        let Some(master_id) = body.get("master_id").and_then(Value::as_u64) else {
            return Err(err(code::MISSING_ELEMENT, "Missing mandatory element for helper (master_id)"));
        };
        let master_id = u32::try_from(master_id).unwrap_or(0);
        let handle = msg.handle;
        let a = self.account(handle);
        if a.helper {
            return Err(err(code::HELPER_ERROR, format!("Session already a helper ({})", a.master_id)));
        }
        let master = self
            .masters
            .get(&master_id)
            .and_then(|h| self.accounts.get(h))
            .filter(|m| m.reg == Reg::Registered);
        let Some(master) = master.cloned() else {
            return Err(err(code::HELPER_ERROR, format!("No such master session ({master_id})")));
        };
        let prefixes = match body.contains_key("incoming_header_prefixes") {
            true => headers::prefixes(body),
            false => master.header_prefixes.clone(),
        };
        let a = self.account(handle);
        a.username = master.username;
        a.user = master.user.clone();
        a.display = master.display;
        a.creds = master.creds;
        a.registrar = master.registrar;
        a.proxy = master.proxy;
        a.proxy_uri = master.proxy_uri;
        a.registrar_addr = master.registrar_addr;
        a.transport = master.transport;
        a.header_prefixes = prefixes;
        a.master_id = master_id;
        a.helper = true;
        a.guest = true;
        a.reg = Reg::Registered;
        self.helpers.entry(master_id).or_default().push(handle.handle);
        let registered = json!({"event": "registered", "username": master.user, "register_sent": false,
                                "helper": true, "master_id": master_id});
        push(handle, Some(&msg.transaction), &event(None, registered), None);
        let a = self.account(handle);
        let (identity, unique_id) = (a.username.clone(), a.unique_id.clone());
        portunus_sdk::notify_event(Some(handle), || {
            json!({"event": "registered", "identity": identity, "type": "guest", "helper": true,
                   "master_id": master_id, "unique_id": unique_id})
        });
        Ok(())
    }

    /// The handle that takes an incoming call for the account of `master`: the master when it
    /// has no call, else its first helper without one.
    pub(crate) fn free_line(&self, master: u64) -> Option<u64> {
        let a = self.accounts.get(&master)?;
        if a.call.is_none() {
            return Some(master);
        }
        let helpers = self.helpers.get(&a.master_id)?;
        helpers.iter().copied().find(|h| self.accounts.get(h).is_some_and(|h| h.call.is_none()))
    }

    /// Whether `a` and `b` are handles of one account (a master and its helpers).
    pub(crate) fn same_account(&self, a: u64, b: u64) -> bool {
        let id = |h| self.accounts.get(&h).map(|a| a.master_id).filter(|id| *id != 0);
        a == b || id(a).is_some_and(|x| Some(x) == id(b))
    }

    /// A handle leaves its account: a helper is forgotten by its master; a master's helpers
    /// are registered no more (their calls go on).
    pub(crate) fn leave_account(&mut self, handle: u64) {
        let Some(a) = self.accounts.get(&handle) else { return };
        let id = a.master_id;
        if a.helper {
            if let Some(list) = self.helpers.get_mut(&id) {
                list.retain(|h| *h != handle);
            }
            return;
        }
        if self.masters.get(&id) == Some(&handle) {
            self.masters.remove(&id);
            for h in self.helpers.remove(&id).unwrap_or_default() {
                if let Some(helper) = self.accounts.get_mut(&h) {
                    (helper.reg, helper.helper) = (Reg::None, false);
                }
            }
        }
    }
}
