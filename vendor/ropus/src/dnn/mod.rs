pub mod core;
pub mod dred;
pub mod dred_stats;
pub mod embedded_weights;
pub mod fargan;
pub mod lossgen;
pub mod lpcnet;
pub mod pitchdnn;
