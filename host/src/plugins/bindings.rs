//! Host-side bindings generated from `wit/plugin.wit`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plugin",
});

pub use self::portunus::plugin::types;
