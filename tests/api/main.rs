//! Black-box tests of the Janus API: the real `portunus` binary on loopback, real sockets.

mod admin;
mod audiobridge;
mod auth;
mod backend;
mod benches;
mod config;
mod events;
mod harness;
mod hostile_bodies;
mod http;
mod languages;
mod mqtt;
mod nanomsg;
mod plugins;
mod rabbitmq;
mod sandbox;
mod streaming;
mod textroom;
mod unix;
mod videoroom;
mod ws;
