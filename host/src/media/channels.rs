//! A peer's open data channels, in the order they opened: a plugin's `send-data` names one by
//! label, or gets the first still open; incoming messages are labelled with their channel's. A
//! label no channel has yet gets a channel of its own, as from Janus (a VideoRoom relays each
//! publisher's channel by its label): its messages wait until it opens.

/// Channels a peer may be opening at once; messages one may hold before it opens.
const MAX_OPENING: usize = 16;
const MAX_WAITING: usize = 256;
/// Bytes the messages waiting for one channel may hold.
const MAX_WAITING_BYTES: usize = 1 << 20;

/// A message waiting for its channel to open: the data, and whether it is binary.
type Waiting = (Vec<u8>, bool);

/// Open channels: (label, id), oldest first. Labels may repeat (the first wins a lookup).
#[derive(Debug, Clone)]
pub struct Channels<I> {
    open: Vec<(String, I)>,
    /// Channels we asked for that have not opened yet, with the messages for them.
    opening: Vec<(String, I, Vec<Waiting>)>,
}

impl<I> Default for Channels<I> {
    fn default() -> Self {
        Self { open: Vec::new(), opening: Vec::new() }
    }
}

impl<I: Copy + PartialEq> Channels<I> {
    /// A channel opened; returns the messages waiting for it (binary flag), to send now.
    pub fn opened(&mut self, label: String, id: I) -> Vec<Waiting> {
        self.open.push((label, id));
        match self.opening.iter().position(|(_, c, _)| *c == id) {
            Some(i) => self.opening.remove(i).2,
            None => Vec::new(),
        }
    }

    /// No channel is open.
    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// The channel being opened for `label`, if any.
    #[cfg(test)]
    pub fn opening(&self, label: &str) -> Option<I> {
        self.opening.iter().find(|(l, ..)| l == label).map(|(_, c, _)| *c)
    }

    /// Whether another channel may be opened.
    fn may_open(&self) -> bool {
        self.opening.len() < MAX_OPENING
    }

    /// Keeps a message for a channel being opened (`open` is called the first time, to
    /// start opening it); an error when too many wait.
    pub fn wait(
        &mut self,
        label: &str,
        data: &[u8],
        binary: bool,
        open: impl FnOnce() -> I,
    ) -> Result<(), String> {
        let i = match self.opening.iter().position(|(l, ..)| l == label) {
            Some(i) => i,
            None if self.may_open() => {
                self.opening.push((label.to_owned(), open(), Vec::new()));
                self.opening.len() - 1
            }
            None => return Err("too many data channels opening".into()),
        };
        let waiting = &mut self.opening[i].2;
        let bytes: usize = waiting.iter().map(|(d, _)| d.len()).sum();
        if waiting.len() >= MAX_WAITING || bytes + data.len() > MAX_WAITING_BYTES {
            return Err(format!("data channel {label:?} not open yet: message dropped"));
        }
        waiting.push((data.to_vec(), binary));
        Ok(())
    }

    /// A channel closed.
    pub fn closed(&mut self, id: I) {
        self.open.retain(|(_, c)| *c != id);
        // One that closes before it opened takes its waiting messages along.
        self.opening.retain(|(_, c, _)| *c != id);
    }

    /// The channel to send on: the first open one with this label, or the first open one.
    pub fn pick(&self, label: Option<&str>) -> Option<I> {
        match label {
            Some(l) => self.open.iter().find(|(label, _)| label == l).map(|(_, c)| *c),
            None => self.open.first().map(|(_, c)| *c),
        }
    }

    /// The label of an open channel.
    pub fn label_of(&self, id: I) -> Option<&str> {
        self.open.iter().find(|(_, c)| *c == id).map(|(l, _)| l.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_open_channel_is_the_default() {
        let mut c = Channels::default();
        assert_eq!(c.pick(None), None);
        for (label, id) in [("zeta", 1), ("alpha", 2), ("mid", 3)] {
            c.opened(label.into(), id);
        }
        // Whatever the labels hash to, the oldest comes first.
        assert_eq!(c.pick(None), Some(1));
        assert_eq!(c.pick(Some("mid")), Some(3));
        assert_eq!(c.pick(Some("nope")), None);
        assert_eq!(c.label_of(2), Some("alpha"));
        c.closed(1);
        assert_eq!(c.pick(None), Some(2), "a closed channel is not picked");
        // A new label waits for its channel, which opens once.
        let mut opened = 0;
        c.wait("new", b"a", false, || {
            opened += 1;
            9
        })
        .unwrap();
        c.wait("new", b"b", true, || unreachable!("opened already")).unwrap();
        assert_eq!((opened, c.opening("new"), c.pick(Some("new"))), (1, Some(9), None));
        assert_eq!(c.opened("new".into(), 9), vec![(b"a".to_vec(), false), (b"b".to_vec(), true)]);
        assert_eq!((c.opening("new"), c.pick(Some("new"))), (None, Some(9)));
        assert_eq!(c.pick(Some("zeta")), None);
        assert_eq!(c.label_of(1), None);
    }
}
