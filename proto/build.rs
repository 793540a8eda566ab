//! Generates the Rust code for the .proto files under `zisk/` with prost and
//! tonic. protoc comes from the `protoc-bin-vendored` crate, so no system
//! protoc is needed (and a system protoc or `PROTOC` is never used).

use std::io;

const PROTOS: &[&str] = &[
    "zisk/common/v1/common.proto",
    "zisk/client/v1/client.proto",
    "zisk/worker/v1/worker.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=zisk");

    let protoc = protoc_bin_vendored::protoc_bin_path()
        .map_err(|e| io::Error::other(format!("vendored protoc unavailable: {e}")))?;

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    // `bytes` fields become `bytes::Bytes`: chunks and proofs are sliced and
    // forwarded without copying.
    config.bytes(["."]);

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // No `XClient::connect(dst)` constructor: it would clash with the
        // `WorkerPlane.Connect` RPC method. Build a `tonic::transport::Channel`
        // and use `XClient::new(channel)` instead.
        .build_transport(false)
        .compile_with_config(config, PROTOS, &["."])?;
    Ok(())
}
