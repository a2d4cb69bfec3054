//! A peer's open data channels, in the order they opened: a plugin's `send-data` names one by
//! label, or gets the first still open; incoming messages are labelled with their channel's.

/// Open channels: (label, id), oldest first. Labels may repeat (the first wins a lookup).
#[derive(Debug, Clone)]
pub struct Channels<I> {
    open: Vec<(String, I)>,
}

impl<I> Default for Channels<I> {
    fn default() -> Self {
        Self { open: Vec::new() }
    }
}

impl<I: Copy + PartialEq> Channels<I> {
    /// A channel opened.
    pub fn opened(&mut self, label: String, id: I) {
        self.open.push((label, id));
    }

    /// A channel closed.
    pub fn closed(&mut self, id: I) {
        self.open.retain(|(_, c)| *c != id);
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
        assert_eq!(c.pick(Some("zeta")), None);
        assert_eq!(c.label_of(1), None);
    }
}
