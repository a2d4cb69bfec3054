//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer) and for the stable smoke
//! test below that feeds them random and mutated inputs on every `cargo test`. Each takes
//! arbitrary bytes and must neither panic nor hang.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::media::sim::{handle, Sim};
use crate::media::srtp::{CryptoAttr, MasterKey, SrtpReceiver, SrtpSender, Suite};
use crate::media::Command;
use crate::vocab::AnswerPolicy;

/// The client SDP path: the checks every offer passes (Janus 465), then, for what passes, the
/// answer the media engine builds with our ICE and DTLS.
pub fn sdp(data: &[u8]) {
    crate::media::contain::let_panics_through();
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = crate::sdp::strip_transport(text);
    if crate::api::jsep::check_sdp(text).is_err() {
        return;
    }
    let Ok(mut sim) = Sim::new(0) else { return };
    let h = handle(0);
    sim.core.command(sim.now, Command::RemoteOffer(h, text.to_owned()));
    let (reply, answer) = std::sync::mpsc::channel();
    let policy = AnswerPolicy::everything();
    sim.core.command(sim.now, Command::Answer(h, policy, crate::media::reply_to(reply)));
    let _ = answer.recv_timeout(Duration::from_secs(1));
}

/// An Opus-in-Ogg file as a Streaming file mountpoint reads it: what parses plays.
pub fn ogg_opus(data: &[u8]) {
    let Ok(file) = crate::media::file::AudioFile::parse(data) else { return };
    let now = std::time::Instant::now();
    let mut player = crate::media::file::Player::new(file, false, true, 111, now);
    player.start(now);
    let mut buf = Vec::new();
    let mut at = now;
    for _ in 0..64 {
        if !player.next_packet(at, &mut buf) {
            break;
        }
        at += Duration::from_millis(120);
    }
}

/// Packets as a mixer port takes them from the network: each chunk of the input (split at
/// `0xff 0xff`) is a participant's packet, with sequence numbers from its first bytes (late,
/// repeated, far ahead), into an Opus and a G.711 participant of one stereo room (in two
/// groups, one listened to alone), mixed tick by tick.
pub fn mix_packets(data: &[u8]) {
    use crate::mixer::room::Room;
    use crate::vocab::{MixCodec, MixerSpec, PortSettings};
    let mut room = Room::new(MixerSpec { rate: 16_000, stereo: true });
    for (id, codec, group, hears_group) in
        [(1, MixCodec::Opus, 1, 0), (2, MixCodec::Pcmu, 2, 0), (3, MixCodec::Opus, 0, 1)]
    {
        let settings =
            PortSettings { expected_loss: 10, group, hears_group, pan: 30, ..PortSettings::default() };
        if room.join(id, 0, codec, settings).is_err() {
            return;
        }
    }
    let mut seq = 0u64;
    for (i, chunk) in data.split(|&b| b == 0xff).filter(|c| !c.is_empty()).take(200).enumerate() {
        seq = match chunk[0] % 4 {
            0 => seq.wrapping_sub(u64::from(chunk[0])),
            1 => seq + u64::from(chunk[0]) * 50,
            _ => seq + 1,
        };
        let (id, codec) = if i % 2 == 0 { (1, MixCodec::Opus) } else { (2, MixCodec::Pcmu) };
        room.packet(id, codec, seq, std::sync::Arc::from(&chunk[1..]));
        room.tick(&mut |_| {});
    }
}

/// What an RTSP server sends the gateway's client: the connection's bytes read item by item
/// (responses, the server's requests, interleaved frames), each answer's challenge, and a
/// DESCRIBE's SDP; what parses is bounded.
pub fn rtsp(data: &[u8]) {
    use crate::media::rtsp::{auth::Challenge, describe, message};
    let mut at = 0;
    while let Ok(Some((item, used))) = message::parse(&data[at..]) {
        assert!(used > 0 && at + used <= data.len());
        at += used;
        if let message::Item::Message(m) = item {
            assert!(m.body.len() <= message::MAX_BODY);
            if let Some(c) = Challenge::pick(m.headers_named("WWW-Authenticate")) {
                let _ = c.answer("u", "p", "DESCRIBE", "rtsp://h/x", 1);
            }
            if let Ok(s) = describe::parse(&String::from_utf8_lossy(&m.body), "rtsp://h/x") {
                assert!(s.media.len() <= describe::MAX_MEDIA);
            }
        }
    }
}

/// What a SIP peer sends a plugin's TCP connection: the bytes arrive in chunks (the first byte
/// says how long), and are split into messages and pings; every message is bounded and an
/// error ends the connection.
pub fn sip_stream(data: &[u8]) {
    use crate::plugins::streams::{next_frame, Frame, MAX_BODY, MAX_HEAD};
    let Some((&chunk, data)) = data.split_first() else { return };
    let mut buf = Vec::new();
    for piece in data.chunks(usize::from(chunk).max(1)) {
        buf.extend_from_slice(piece);
        loop {
            match next_frame(&mut buf) {
                Ok(Some(Frame::Message(m))) => assert!(!m.is_empty() && m.len() <= MAX_HEAD + 4 + MAX_BODY),
                Ok(Some(Frame::Ping)) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

/// A Janus API request as a transport hands it to the core (the first byte says which ids an
/// HTTP path adds): the JSON object, its envelope, a JSEP's first checks; every refusal builds
/// the error reply the client gets.
pub fn janus_request(data: &[u8]) {
    use crate::api::envelope::{self, PathIds};
    let Some((&path, body)) = data.split_first() else { return };
    let ids = PathIds {
        session: (path & 1 != 0).then_some(u64::from(path >> 2)),
        handle: (path & 2 != 0).then_some(7),
    };
    let refused = match envelope::parse_object(body) {
        Err(e) => envelope::error_reply(&e, 0, None),
        Ok(obj) => match envelope::read(obj, ids, ("session_id", "handle_id")) {
            Err(r) => envelope::error_reply(&r.error, r.session_id, r.transaction.as_deref()),
            Ok(env) => match env.body.get("jsep") {
                Some(serde_json::Value::Object(jsep)) => match crate::api::jsep::check(jsep) {
                    Err(e) => envelope::error_reply(&e, env.session_id, Some(&env.transaction)),
                    Ok(_) => return,
                },
                _ => return,
            },
        },
    };
    assert!(refused["error"]["code"].as_u64().is_some(), "{refused}");
}

/// A STUN server's answer to the gateway's Binding request (`nat.stun_server`): the mapped
/// address is read, or nothing, from whatever comes (the transaction id taken from the bytes
/// themselves, so that the attributes are reached).
pub fn stun_response(data: &[u8]) {
    let id: [u8; 12] = data.get(8..20).and_then(|b| b.try_into().ok()).unwrap_or([0; 12]);
    let _ = crate::media::public_address::mapped_address(data, &id);
}

/// A token a client sends with `token_auth_secret` on (`<expiry>,<realm>,<descriptor>…:<signature>`):
/// checked as the core checks it and as a plugin asks (`room=1`).
pub fn signed_token(data: &[u8]) {
    use crate::api::auth::Auth;
    let Ok(token) = std::str::from_utf8(data) else { return };
    let auth = Auth::new(None, true, Some("secret"));
    let _ = auth.signature_valid(token, "janus", None);
    let _ = auth.signature_valid(token, "janus.plugin.videoroom", Some("room=1"));
}

/// A backend URL a plugin posts to (`http-post`; TextRoom's `post`, which any client creating a
/// room may give), read as `http-post` reads it (which also builds its request).
pub fn http_post_url(data: &[u8]) {
    let Ok(url) = std::str::from_utf8(data) else { return };
    let _ = crate::http_client::Backend::parse(url);
}

/// What an MQTT broker sends the gateway (the MQTT event handler and transport): packets read
/// and taken as the client takes them.
pub fn mqtt_packets(data: &[u8]) {
    crate::mqtt::take_from_broker(data);
}

/// What a DNS server answers (the plugins' NAPTR, SRV, A and AAAA lookups): read as the answer
/// to a query of each type, whatever its id and question.
pub fn dns_answer(data: &[u8]) {
    let id = data.get(..2).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
    for rtype in [crate::dns::kind::NAPTR, crate::dns::kind::SRV, crate::dns::kind::A, crate::dns::kind::AAAA]
    {
        let _ = crate::dns::parse(id, "_sip._udp.pbx.test", rtype, data);
    }
}

/// What an AMQP broker sends the gateway (the RabbitMQ event handler): frames read and taken as
/// the client takes them.
pub fn amqp_frames(data: &[u8]) {
    crate::amqp::take_from_broker(data);
}

/// What a Nanomsg peer sends the gateway (the Nanomsg transport and event handler): messages
/// read as framed over IPC and over TCP, one after another, with a small size limit (a longer
/// message is skipped and read as empty).
pub fn nanomsg_frames(data: &[u8]) {
    use futures_util::FutureExt;
    for address in
        [crate::nanomsg::Address::Ipc("fuzz".into()), crate::nanomsg::Address::Tcp("fuzz:1".into())]
    {
        let mut from = data;
        // Reading a byte slice never waits: each read is done on its first poll.
        while let Some(Ok(message)) = address.read_message(&mut from, 64).now_or_never() {
            assert!(message.len() <= 64, "a message over the limit was read");
        }
    }
}

/// A `.jcfg` configuration: what parses converts to JSON, and that JSON written back (as a
/// `permanent` room is) parses to the same JSON.
pub fn jcfg(data: &[u8]) {
    use crate::config::{jcfg, write};
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(group) = jcfg::parse(text) else { return };
    let json = group.to_json();
    if let Ok(written) = write::to_jcfg(&json) {
        let again = jcfg::parse(&written).unwrap_or_else(|e| panic!("{e}:\n{written}"));
        assert_eq!(again.to_json(), json, "written back:\n{written}");
    }
}

/// SDES: an `a=crypto` value as a plain RTP leg's SDP carries it; what parses writes back as
/// the same attribute.
pub fn crypto_attr(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(attr) = CryptoAttr::parse(text) {
        assert_eq!(CryptoAttr::parse(&attr.to_value()).as_ref(), Ok(&attr));
    }
}

/// Datagrams as a plain leg or an input receives them: plain RTP and RTCP headers read (a
/// sender report taken, a telephone event's end heard), SRTP and SRTCP refused unless they
/// authenticate; the bytes as the payload of a packet that does
/// authenticate come back whole.
pub fn srtp(data: &[u8]) {
    if let Some(h) = crate::media::legs::parse_rtp(data) {
        assert!(h.payload_at <= h.payload_end && h.payload_end <= data.len());
    }
    // A leg's, or an RTP output's receiver's, keyframe requests (SRTCP: the first header).
    let _ = (crate::media::legs::wants_keyframe(data), crate::media::legs::first_wants_keyframe(data));
    // A leg's RTCP (the far end's sender report) and its telephone events.
    crate::media::legs::Report::default().heard(data, std::time::Instant::now());
    let mut dtmf = crate::media::legs::HeardDtmf::default();
    let _ = (dtmf.ended(1, data), dtmf.ended(1, data));
    let key = MasterKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd").expect("a fixed key");
    for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
        let mut rx = SrtpReceiver::new(suite, &key);
        let _ = rx.unprotect_rtp(&mut data.to_vec());
        let _ = rx.unprotect_rtcp(&mut data.to_vec());
        let mut packet = vec![0x80, 0x60, 0x12, 0x34, 0, 0, 0, 1, 0xca, 0xfe, 0xba, 0xbe];
        packet.extend_from_slice(data);
        let plain = packet.clone();
        SrtpSender::new(suite, &key).protect_rtp(&mut packet, 0x1234);
        let (len, index) = SrtpReceiver::new(suite, &key).unprotect_rtp(&mut packet).expect("our own packet");
        assert_eq!((&packet[..len], index), (&plain[..], 0x1234));
    }
}

/// The datagram path: a gateway with one connected client gets the bytes from that client (its
/// ICE, DTLS, SRTP and SCTP stacks see them) and from an address it does not know (first
/// contact: the STUN demux).
pub struct Datagrams {
    sim: Sim,
}

impl Datagrams {
    /// A core with a connected client.
    pub fn new() -> anyhow::Result<Self> {
        crate::media::contain::let_panics_through();
        let mut sim = Sim::new(1)?;
        sim.connect()?;
        Ok(Self { sim })
    }

    /// Feeds one datagram both ways, then lets time pass.
    pub fn feed(&mut self, data: &[u8]) {
        let known = self.sim.clients[0].addr;
        let stranger = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)), 9999);
        self.sim.core.datagram(self.sim.now, known, data);
        self.sim.core.datagram(self.sim.now, stranger, data);
        self.sim.now += Duration::from_millis(1);
        self.sim.core.timeouts(self.sim.now);
        self.sim.core.flush();
        self.sim.core.transmitter().out.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }

        /// `seed` with a few bytes flipped, cut, repeated or inserted.
        fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
            let mut v = seed.to_vec();
            for _ in 0..1 + self.below(4) {
                let at = self.below(v.len() + 1);
                match self.below(4) {
                    0 if at < v.len() => v[at] ^= 1 << self.below(8),
                    1 => v.truncate(at),
                    2 => {
                        let piece: Vec<u8> = v[at..].iter().take(16).copied().collect();
                        v.splice(at..at, piece);
                    }
                    _ => v.insert(at, self.next() as u8),
                }
            }
            v
        }
    }

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\n\
        a=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 \
        00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
        a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n\
        a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\n\
        a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n\
        a=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:2\r\na=sctp-port:5000\r\n";

    #[test]
    fn sdp_path_survives_mutated_offers() {
        let mut rng = Rng(0x5eed_0001);
        sdp(OFFER.as_bytes());
        for _ in 0..400 {
            let input = rng.mutate(OFFER.as_bytes());
            sdp(&input);
        }
    }

    #[test]
    fn ogg_opus_files_survive_mutation() {
        let mut rng = Rng(0x5eed_0005);
        let seed =
            crate::media::file::tests::ogg_opus(&[vec![0xfc, 1, 2, 3], vec![0xfb, 3, 9], vec![0x08; 40]]);
        ogg_opus(&seed);
        for _ in 0..1000 {
            ogg_opus(&rng.mutate(&seed));
        }
    }

    #[test]
    fn mixer_ports_survive_garbage_packets() {
        let mut rng = Rng(0x5eed_0007);
        let seed: Vec<u8> =
            [&[0x02u8, 0xfc, 1, 2, 3][..], &[0xff, 0x03, 0x0b, 0xff, 0xff][..], &[0x06; 40][..]]
                .iter()
                .flat_map(|c| c.iter().copied().chain([0xff]))
                .collect();
        mix_packets(&seed);
        for _ in 0..200 {
            mix_packets(&rng.mutate(&seed));
        }
    }

    #[test]
    fn rtsp_answers_survive_mutation() {
        let mut rng = Rng(0x5eed_0009);
        let sdp =
            "v=0\r\na=control:*\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=control:stream=0\r\n\
                   m=audio 0 RTP/AVP 111\r\na=rtpmap:111 OPUS/48000/2\r\na=fmtp:111 sprop-stereo=0\r\n";
        let mut seed = format!(
            "RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Digest realm=\"r\", nonce=\"n\", qop=\"auth\"\r\n\r\n\
             RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Base: rtsp://h/x/\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        )
        .into_bytes();
        seed.extend_from_slice(&[b'$', 0, 0, 4, 0x80, 96, 0, 1]);
        rtsp(&seed);
        for _ in 0..1000 {
            rtsp(&rng.mutate(&seed));
        }
    }

    #[test]
    fn sip_streams_survive_mutation() {
        let mut rng = Rng(0x5eed_0011);
        let mut seed = b"\x07\r\n\r\nINVITE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060\r\n\
                         l: 5\r\n\r\nv=0\r\n\r\nSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"
            .to_vec();
        sip_stream(&seed);
        seed[0] = 1;
        for _ in 0..1000 {
            sip_stream(&rng.mutate(&seed));
        }
    }

    #[test]
    fn janus_requests_survive_mutation() {
        let mut rng = Rng(0x5eed_000b);
        let seeds: [&[u8]; 3] = [
            b"\x03{\"janus\":\"message\",\"transaction\":\"t\",\"session_id\":1,\"handle_id\":7,\
              \"body\":{\"request\":\"join\"},\"jsep\":{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\"}}",
            b"\x00{\"janus\":\"attach\",\"transaction\":\"x\",\"plugin\":\"janus.plugin.echotest\",\"id\":-1}",
            b"\x01[{\"janus\":\"keepalive\"}]",
        ];
        for i in 0..3000 {
            janus_request(&rng.mutate(seeds[i % seeds.len()]));
        }
    }

    #[test]
    fn mqtt_packets_survive_mutation() {
        let mut rng = Rng(0x5eed_0013);
        // CONNACK, SUBACK (one refusal), a PUBLISH at QoS 1, PUBACK, PINGRESP.
        let seed: &[u8] = &[
            0x20, 2, 0, 0, 0x90, 4, 0, 1, 1, 0x80, 0x32, 9, 0, 3, b't', b'/', b'x', 0, 7, b'{', b'}', 0x40,
            2, 0, 7, 0xd0, 0,
        ];
        mqtt_packets(seed);
        for _ in 0..3000 {
            mqtt_packets(&rng.mutate(seed));
        }
    }

    #[test]
    fn dns_answers_survive_mutation() {
        let mut rng = Rng(0x5eed_0019);
        // An answer to query 7 for _sip._udp.pbx.test's SRV: one record (compressed owner,
        // target sip1.pbx.test on 5070) and its target's A record in the additional section.
        let mut seed = crate::dns::query(7, "_sip._udp.pbx.test", crate::dns::kind::SRV).unwrap();
        seed[2] = 0x81;
        seed[3] = 0x80;
        seed[7] = 1;
        seed[11] = 1;
        seed.extend_from_slice(&[0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, 21, 0, 10, 0, 5, 0x13, 0xce]);
        seed.extend_from_slice(b"\x04sip1\x03pbx\x04test\x00");
        seed.extend_from_slice(
            b"\x04sip1\x03pbx\x04test\x00\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x01",
        );
        let parsed = crate::dns::parse(7, "_sip._udp.pbx.test", crate::dns::kind::SRV, &seed).unwrap();
        assert_eq!((parsed.srv.len(), parsed.addrs.len()), (1, 1), "the seed is an answer");
        for _ in 0..3000 {
            dns_answer(&rng.mutate(&seed));
        }
    }

    #[test]
    fn nanomsg_frames_survive_mutation() {
        let mut rng = Rng(0x5eed_0018);
        // Over IPC: a message of 5 bytes, then one of 70 (over the limit: skipped).
        let mut seed =
            vec![1, 0, 0, 0, 0, 0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o', 1, 0, 0, 0, 0, 0, 0, 0, 70];
        seed.extend_from_slice(&[b'x'; 70]);
        nanomsg_frames(&seed);
        for _ in 0..3000 {
            nanomsg_frames(&rng.mutate(&seed));
        }
    }

    #[test]
    fn amqp_frames_survive_mutation() {
        let mut rng = Rng(0x5eed_0017);
        // A heartbeat, then Channel.Close (320 "bye").
        let seed: &[u8] = &[
            8, 0, 0, 0, 0, 0, 0, 0xce, 1, 0, 1, 0, 0, 0, 14, 0, 20, 0, 40, 0x01, 0x40, 3, b'b', b'y', b'e',
            0, 0, 0, 0, 0xce,
        ];
        amqp_frames(seed);
        for _ in 0..3000 {
            amqp_frames(&rng.mutate(seed));
        }
    }

    #[test]
    fn stun_responses_survive_mutation() {
        let mut rng = Rng(0x5eed_000f);
        let mut seed = vec![0x01, 0x01, 0, 20, 0x21, 0x12, 0xa4, 0x42];
        seed.extend([9u8; 12]);
        seed.extend([0x80, 0x22, 0, 3, b'a', b'b', b'c', 0]);
        seed.extend([0, 0x20, 0, 8, 0, 1, 0x9c, 0x40, 0xea, 0x12, 0xd5, 0x4b]);
        let id: [u8; 12] = seed[8..20].try_into().unwrap();
        assert!(crate::media::public_address::mapped_address(&seed, &id).is_some(), "the seed parses");
        stun_response(&seed);
        for _ in 0..3000 {
            stun_response(&rng.mutate(&seed));
        }
    }

    #[test]
    fn signed_tokens_survive_mutation() {
        let mut rng = Rng(0x5eed_0013);
        let seed = b"4102444800,janus.plugin.videoroom,room=1,x:3Q8p4a5Ck3lCdmHPPsHx1PGIgL4=";
        for _ in 0..3000 {
            signed_token(&rng.mutate(seed));
        }
    }

    #[test]
    fn http_post_urls_survive_mutation() {
        let mut rng = Rng(0x5eed_0011);
        let seeds: [&[u8]; 2] = [b"http://backend.example:8080/rooms/7?key=a%20b#x", b"http://[::1]/"];
        for i in 0..3000 {
            http_post_url(&rng.mutate(seeds[i % seeds.len()]));
        }
    }

    #[test]
    fn jcfg_files_survive_mutation_and_write_back_alike() {
        let mut rng = Rng(0x5eed_000d);
        let seed = b"general: {\n\tname = \"a \\\"b\\\" \\x41\" # c\n\tn = -12\n\tf = 1.5e3\n}\n\
            room-1234: { description = \"Demo\" \"Room\"; publishers = 6 list = ( { a = true }, [1, 2] ) \
            arr = [\"x\", \"y\"] empty = () }\n// comment\n/* block */ z = false;\n";
        let parsed =
            crate::config::jcfg::parse(std::str::from_utf8(seed).expect("text")).expect("the seed parses");
        assert_eq!(parsed.to_json()["room-1234"]["description"], "DemoRoom");
        jcfg(seed);
        for _ in 0..3000 {
            jcfg(&rng.mutate(seed));
        }
    }

    #[test]
    fn sdes_and_srtp_survive_mutated_input() {
        let mut rng = Rng(0x5eed_0003);
        let line = b"1 AES_CM_128_HMAC_SHA1_80 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd|2^20";
        let mut packet =
            vec![0x90, 0x60, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0xbe, 0xde, 0, 1, 0x10, 1, 0, 0];
        packet.extend([0x55u8; 30]);
        for _ in 0..1000 {
            crypto_attr(&rng.mutate(line));
            srtp(&rng.mutate(&packet));
        }
    }

    #[test]
    fn datagram_path_survives_noise_and_mutated_packets() {
        let mut target = Datagrams::new().expect("connected client");
        let mut rng = Rng(0x5eed_0002);
        // Seeds: what the first bytes of real traffic look like (RFC 7983 ranges).
        let mut stun = vec![0, 1, 0, 8, 0x21, 0x12, 0xa4, 0x42];
        stun.extend([7u8; 12]);
        stun.extend([0, 6, 0, 4, b'a', b'b', b'c', b'd']);
        let dtls = [22u8, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 12, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut rtp = vec![0x80, 96, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
        rtp.extend([0x55u8; 40]);
        let rtcp = [0x81u8, 201, 0, 7, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        let seeds: [&[u8]; 4] = [&stun, &dtls, &rtp, &rtcp];
        for i in 0..2000 {
            let input = match i % 5 {
                4 => (0..rng.below(1500)).map(|_| rng.next() as u8).collect(),
                k => rng.mutate(seeds[k]),
            };
            target.feed(&input);
        }
        // The client is still served: nothing hung it up.
        for _ in 0..100 {
            target.sim.now += Duration::from_millis(10);
            target.sim.pump().expect("pump");
        }
        let notices: Vec<_> = std::iter::from_fn(|| target.sim.notices.try_recv().ok()).collect();
        assert!(
            !notices.iter().any(|n| matches!(n.event, crate::vocab::MediaEvent::Hangup { .. })),
            "{notices:?}"
        );
    }
}
