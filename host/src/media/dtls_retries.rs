//! Counts the DTLS handshake flights a peer sends again, as Janus's `retransmissions` (its
//! timer's resends while the handshake is not done). Ours may resend on its timer or when the
//! far end repeats its own flight, so the count is read from what goes out: a flight whose
//! first record is a handshake message we sent already (DTLS 1.2's clear epoch 0, RFC 6347
//! §4.2.2: the same `message_seq`, from its first fragment), or a second change-cipher-spec.

/// A peer's DTLS handshake flights sent again.
#[derive(Debug, Default, Clone, Copy)]
pub struct DtlsRetries {
    /// Flights sent again so far.
    pub count: u32,
    /// The highest handshake `message_seq` sent in the clear.
    highest: Option<u16>,
    /// A change-cipher-spec went out.
    change_cipher_sent: bool,
    /// This drain counted a flight already (its other datagrams are the same flight).
    counted: bool,
}

/// What a DTLS datagram's first record is, as far as resends are told by it.
#[derive(Debug, PartialEq, Eq)]
enum First {
    /// A handshake message's fragment in the clear: its `message_seq` and fragment offset.
    Handshake {
        seq: u16,
        offset: u32,
    },
    ChangeCipherSpec,
    Other,
}

fn first_record(d: &[u8]) -> First {
    const HANDSHAKE: u8 = 22;
    const CHANGE_CIPHER_SPEC: u8 = 20;
    // Record: type, version (2), epoch (2), sequence (6), length (2); handshake: type,
    // length (3), message_seq (2), fragment_offset (3), fragment_length (3).
    match d.first() {
        Some(&CHANGE_CIPHER_SPEC) => First::ChangeCipherSpec,
        Some(&HANDSHAKE) if d.len() >= 25 && d[3..5] == [0, 0] => First::Handshake {
            seq: u16::from_be_bytes([d[17], d[18]]),
            offset: u32::from_be_bytes([0, d[19], d[20], d[21]]),
        },
        _ => First::Other,
    }
}

impl DtlsRetries {
    /// A DTLS datagram of the handshake went out.
    pub fn sent(&mut self, datagram: &[u8]) {
        let again = match first_record(datagram) {
            First::Handshake { seq, offset } => {
                let again = self.highest.is_some_and(|h| seq < h || (seq == h && offset == 0));
                self.highest = Some(self.highest.map_or(seq, |h| h.max(seq)));
                again
            }
            First::ChangeCipherSpec => std::mem::replace(&mut self.change_cipher_sent, true),
            First::Other => false,
        };
        if again && !self.counted {
            self.count += 1;
            self.counted = true;
        }
    }

    /// The peer's output was drained: what it sends next is another flight.
    pub fn drained(&mut self) {
        self.counted = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handshake record in epoch 0 carrying message `seq` from `offset`.
    fn handshake(seq: u16, offset: u32) -> Vec<u8> {
        let mut d = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 12, 1, 0, 0, 100];
        d.extend_from_slice(&seq.to_be_bytes());
        d.extend_from_slice(&offset.to_be_bytes()[1..]);
        d.extend_from_slice(&[0, 0, 50]);
        d
    }

    #[test]
    fn a_flight_sent_again_counts_once() {
        let mut r = DtlsRetries::default();
        // ClientHello, then it again (alone: its first fragment again).
        r.sent(&handshake(0, 0));
        r.drained();
        assert_eq!(r.count, 0);
        r.sent(&handshake(0, 0));
        r.drained();
        assert_eq!(r.count, 1);
        // A flight of three datagrams (the certificate in two fragments), then all of it again.
        for d in [handshake(1, 0), handshake(2, 0), handshake(2, 1200)] {
            r.sent(&d);
        }
        r.drained();
        assert_eq!(r.count, 1, "a message's second fragment is no resend");
        for d in [handshake(1, 0), handshake(2, 0), handshake(2, 1200)] {
            r.sent(&d);
        }
        r.drained();
        assert_eq!(r.count, 2, "one flight, counted once");
    }

    #[test]
    fn a_final_flight_sent_again_is_told_by_its_change_cipher_spec() {
        let mut r = DtlsRetries::default();
        let ccs_and_finished = [20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 1];
        r.sent(&handshake(0, 0));
        r.drained();
        r.sent(&ccs_and_finished);
        r.drained();
        assert_eq!(r.count, 0);
        r.sent(&ccs_and_finished);
        r.drained();
        assert_eq!(r.count, 1);
        // Encrypted records (epoch 1) and short ones tell nothing.
        let mut encrypted = handshake(0, 0);
        encrypted[4] = 1;
        r.sent(&encrypted);
        r.sent(&[22, 0xfe]);
        r.drained();
        assert_eq!(r.count, 1);
    }
}
