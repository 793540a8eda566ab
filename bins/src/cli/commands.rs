//! What each `zisk` subcommand does.

use std::path::Path;

use anyhow::{Context, bail};
use zisk_proto::client::v1 as api;
use zisk_proto::client::v1::job_event::Event;
use zisk_proto::common::v1::{ErrorCode, JobState};

use super::embedded::EmbeddedCluster;
use super::proof_file::{MAX_PROOF_FILE_BYTES, ProofFile};
use super::{Cli, Command, EmbeddedOptions};
use crate::worker::CLUSTER_PARAMS;
use zisk_net::client::{Client, InputSource, phase_name};
use zisk_prover::pipeline::{self, VerifyingKey};

/// Largest guest ELF or input file read.
const MAX_FILE_BYTES: u64 = 64 << 20;

fn read_file(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read the {what} {}", path.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        bail!(
            "the {what} {} is {size} bytes, more than the limit of {MAX_FILE_BYTES}",
            path.display()
        );
    }
    std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}

fn read_input(path: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    path.map_or_else(|| Ok(Vec::new()), |path| read_file(path, "input"))
}

/// The job input: the local file's bytes, or a path under the workers' inputs folder (only
/// with a coordinator: an embedded cluster has no inputs folder).
fn input_source(
    url: Option<&str>,
    input: Option<&Path>,
    input_path: Option<String>,
) -> anyhow::Result<InputSource> {
    match input_path {
        Some(_) if url.is_none() => bail!(
            "--input-path names a file in the workers' inputs folder and needs --coordinator; \
             for a local file use --input"
        ),
        Some(path) => Ok(InputSource::Path(path)),
        None => Ok(InputSource::Inline(read_input(input)?)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn elf_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || "guest".to_owned(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// Prints one job event for people, on stderr.
fn print_event(event: &Event) {
    match event {
        Event::Queued(queued) => eprintln!("  queued (position {})", queued.position),
        Event::Started(started) => eprintln!(
            "  started on {} worker(s), {} compute units",
            started.worker_count, started.granted_compute_units
        ),
        Event::PhaseChanged(change) => eprintln!("  phase: {}", phase_name(change.to)),
        Event::Progress(progress) => eprintln!(
            "  {}: {}/{} tasks done",
            phase_name(progress.phase),
            progress.tasks_done,
            progress.tasks_total
        ),
        Event::Completed(_) => eprintln!("  completed"),
        Event::Failed(failed) => eprintln!("  failed in phase {}", phase_name(failed.phase)),
        Event::Cancelled(cancelled) => eprintln!("  cancelled: {}", cancelled.reason),
    }
}

fn job_failure(job: &api::Job) -> anyhow::Error {
    let state = JobState::try_from(job.state).unwrap_or(JobState::Unspecified);
    let (message, code) = job.error.as_ref().map_or_else(
        || ("no reason given".to_owned(), ErrorCode::Unspecified),
        |error| {
            (
                error.message.clone(),
                ErrorCode::try_from(error.code).unwrap_or(ErrorCode::Unspecified),
            )
        },
    );
    anyhow::anyhow!(
        "job {} {} in phase {}: {message} ({})",
        job.job_id,
        state
            .as_str_name()
            .trim_start_matches("JOB_STATE_")
            .to_lowercase(),
        phase_name(job.phase),
        code.as_str_name()
    )
}

async fn connect(url: Option<&str>, command: &str) -> anyhow::Result<Client> {
    let url = url.with_context(|| {
        format!("`zisk {command}` needs a coordinator: pass --coordinator URL or set ZISK_COORDINATOR_URL (only prove and execute can run an embedded cluster)")
    })?;
    Ok(Client::connect(url).await?)
}

/// Runs one subcommand.
///
/// # Errors
/// Whatever stopped it, with the reason the coordinator gave.
pub async fn run_cli(cli: Cli) -> anyhow::Result<()> {
    let url = cli.coordinator.as_deref();
    match cli.command {
        Command::Register { elf } => {
            let mut client = connect(url, "register").await?;
            let response = client
                .register(&elf_name(&elf), read_file(&elf, "guest ELF")?)
                .await?;
            println!("{}", response.program_id);
        }
        Command::Setup { elf } => {
            let mut client = connect(url, "setup").await?;
            let program = client
                .register(&elf_name(&elf), read_file(&elf, "guest ELF")?)
                .await?;
            let key = client.setup(&program.program_id).await?;
            println!("program id: {}", program.program_id);
            println!("verifying key: {}", hex(&key));
        }
        Command::Prove {
            elf,
            input,
            input_path,
            output,
            compute_units,
            embedded,
        } => {
            let elf_bytes = read_file(&elf, "guest ELF")?;
            let input = input_source(url, input.as_deref(), input_path)?;
            with_cluster(url, &embedded, |mut client| async move {
                prove(
                    &mut client,
                    &elf_name(&elf),
                    elf_bytes,
                    input,
                    compute_units,
                    &output,
                )
                .await
            })
            .await?;
        }
        Command::Execute {
            elf,
            input,
            input_path,
            output,
            compute_units,
            embedded,
        } => {
            let elf_bytes = read_file(&elf, "guest ELF")?;
            let input = input_source(url, input.as_deref(), input_path)?;
            with_cluster(url, &embedded, |mut client| async move {
                execute(
                    &mut client,
                    &elf_name(&elf),
                    elf_bytes,
                    input,
                    compute_units,
                    output.as_deref(),
                )
                .await
            })
            .await?;
        }
        Command::Status { job: Some(job) } => {
            let mut client = connect(url, "status").await?;
            print_job(&client.job(&job).await?);
        }
        Command::Status { job: None } => {
            let mut client = connect(url, "status").await?;
            let status = client.status().await?;
            println!("coordinator epoch: {}", status.coordinator_epoch);
            println!("draining: {}", status.draining);
            println!(
                "workers: {} connected, {} disconnected",
                status.workers_connected, status.workers_disconnected
            );
            println!(
                "compute units: {} total, {} free",
                status.compute_units_total, status.compute_units_free
            );
            println!(
                "jobs: {} queued (capacity {}), {} running",
                status.jobs_queued, status.queue_capacity, status.jobs_running
            );
            println!(
                "protocol version: {}, software {}",
                status.protocol_version, status.software_version
            );
        }
        Command::Watch { job } => {
            let mut client = connect(url, "watch").await?;
            let job = client.follow(&job, print_event).await?;
            print_job(&job);
        }
        Command::Cancel { job, reason } => {
            let mut client = connect(url, "cancel").await?;
            print_job(&client.cancel(&job, &reason).await?);
        }
        Command::Verify {
            proof,
            verifying_key,
            elf,
            input,
        } => verify(
            &proof,
            verifying_key.as_deref(),
            elf.as_deref(),
            input.as_deref(),
        )?,
        Command::Jobs { limit } => {
            let mut client = connect(url, "jobs").await?;
            let jobs = client
                .jobs(api::ListJobsRequest {
                    page_size: limit,
                    ..Default::default()
                })
                .await?;
            println!(
                "{:<34} {:<8} {:<10} {:<26} program",
                "job", "kind", "state", "phase"
            );
            for job in jobs.jobs {
                let kind = zisk_proto::common::v1::JobKind::try_from(job.kind)
                    .map_or("-", |kind| kind.as_str_name());
                let state = JobState::try_from(job.state).map_or("-", |state| state.as_str_name());
                println!(
                    "{:<34} {:<8} {:<10} {:<26} {}",
                    job.job_id,
                    kind.trim_start_matches("JOB_KIND_").to_lowercase(),
                    state.trim_start_matches("JOB_STATE_").to_lowercase(),
                    phase_name(job.phase),
                    job.program_id
                );
            }
        }
        Command::Workers => {
            let mut client = connect(url, "workers").await?;
            println!(
                "{:<38} {:>5} {:>5} {:<14} {:>4} jobs",
                "worker", "units", "busy", "state", "gen"
            );
            for worker in client.workers().await?.workers {
                let state = api::WorkerState::try_from(worker.state)
                    .map_or("-", |state| state.as_str_name());
                println!(
                    "{:<38} {:>5} {:>5} {:<14} {:>4} {}",
                    worker.worker_id,
                    worker.compute_units,
                    worker.busy_compute_units,
                    state.trim_start_matches("WORKER_STATE_").to_lowercase(),
                    worker.connection_generation,
                    worker.job_ids.join(",")
                );
            }
        }
    }
    Ok(())
}

/// Runs `work` against the coordinator at `url`, or against an embedded cluster started for
/// it when there is none.
async fn with_cluster<F, Fut>(
    url: Option<&str>,
    embedded: &EmbeddedOptions,
    work: F,
) -> anyhow::Result<()>
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    if let Some(url) = url {
        return work(Client::connect(url).await?).await;
    }
    eprintln!(
        "no coordinator given: starting an embedded cluster ({} worker(s) of {} compute units)",
        embedded.workers, embedded.worker_compute_units
    );
    let cluster = EmbeddedCluster::start(embedded.workers, embedded.worker_compute_units).await?;
    let result = match Client::connect(&cluster.url()).await {
        Ok(client) => work(client).await,
        Err(error) => Err(error.into()),
    };
    cluster.stop().await;
    result
}

async fn execute(
    client: &mut Client,
    name: &str,
    elf: Vec<u8>,
    input: InputSource,
    compute_units: Option<u32>,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let program = client.register(name, elf).await?;
    eprintln!("program {}", program.program_id);
    let job_id = client
        .submit_input(false, &program.program_id, input, compute_units)
        .await?;
    eprintln!("job {job_id} (execute)");
    let job = client.follow(&job_id, print_event).await?;
    let Some(api::job::Outcome::Execute(outcome)) = job.outcome.clone() else {
        return Err(job_failure(&job));
    };
    println!("cycles: {}", outcome.cycles);
    println!("segments: {}", outcome.segment_count);
    println!(
        "public outputs ({} bytes): {}",
        outcome.public_outputs.len(),
        hex(&outcome.public_outputs)
    );
    if let Some(path) = output {
        std::fs::write(path, &outcome.public_outputs)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The verifying key of `elf` with the cluster's parameters, computed here (the proof file
/// carries it; its digest must be the one the cluster reports).
async fn local_verifying_key(elf: Vec<u8>) -> anyhow::Result<VerifyingKey> {
    tokio::task::spawn_blocking(move || pipeline::setup(&elf, CLUSTER_PARAMS))
        .await
        .context("the local setup panicked")?
        .map(|(_, vk)| vk)
        .context("cannot compute the verifying key of the guest")
}

async fn prove(
    client: &mut Client,
    name: &str,
    elf: Vec<u8>,
    input: InputSource,
    compute_units: Option<u32>,
    output: &Path,
) -> anyhow::Result<()> {
    let program = client.register(name, elf.clone()).await?;
    eprintln!("program {}", program.program_id);
    eprintln!("setup: running");
    let (cluster_key, local_key) = tokio::try_join!(
        async { Ok::<_, anyhow::Error>(client.setup(&program.program_id).await?) },
        local_verifying_key(elf)
    )?;
    if cluster_key.as_slice() != local_key.digest().as_slice() {
        bail!(
            "the cluster's verifying key {} is not the one computed here ({}): the workers run \
             another prover version",
            hex(&cluster_key),
            hex(&local_key.digest())
        );
    }
    eprintln!("setup: ready (verifying key {})", hex(&cluster_key));
    let job_id = client
        .submit_input(true, &program.program_id, input.clone(), compute_units)
        .await?;
    eprintln!("job {job_id} (prove)");
    let job = client.follow(&job_id, print_event).await?;
    let Some(api::job::Outcome::Prove(outcome)) = job.outcome.clone() else {
        return Err(job_failure(&job));
    };
    let proof = client.download_proof(&job_id).await?;
    let (input, input_external) = match input {
        InputSource::Inline(bytes) => (bytes, false),
        InputSource::Path(_) => (Vec::new(), true),
    };
    let file = ProofFile {
        program_id: program.program_id,
        verifying_key: local_key.to_bytes(),
        input,
        input_external,
        public_outputs: outcome.public_outputs.to_vec(),
        proof,
        cycles: outcome.cycles,
        segment_count: outcome.segment_count as u32,
    };
    std::fs::write(output, file.to_bytes())
        .with_context(|| format!("cannot write the proof to {}", output.display()))?;
    println!("cycles: {}", file.cycles);
    println!("segments: {}", file.segment_count);
    println!(
        "public outputs ({} bytes): {}",
        file.public_outputs.len(),
        hex(&file.public_outputs)
    );
    println!(
        "proof written to {} ({} bytes)",
        output.display(),
        file.proof.len()
    );
    if file.input_external {
        println!("(the input stays in the workers' inputs folder: verify with --input FILE)");
    }
    Ok(())
}

fn verify(
    path: &Path,
    trusted_key: Option<&str>,
    trusted_elf: Option<&Path>,
    input: Option<&Path>,
) -> anyhow::Result<()> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read the proof {}", path.display()))?
        .len();
    if size > MAX_PROOF_FILE_BYTES as u64 {
        bail!(
            "the proof file {} is {size} bytes, more than the limit",
            path.display()
        );
    }
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the proof {}", path.display()))?;
    let file = ProofFile::from_bytes(&bytes)
        .with_context(|| format!("cannot read the proof {}", path.display()))?;
    let key = VerifyingKey::from_bytes(&file.verifying_key)
        .with_context(|| format!("the verifying key in {} is malformed", path.display()))?;
    let digest = hex(&key.digest());
    if let Some(trusted) = trusted_key
        && !trusted.eq_ignore_ascii_case(&digest)
    {
        bail!("the proof is for verifying key {digest}, not the trusted {trusted}");
    }
    if let Some(elf) = trusted_elf {
        let (_, trusted) = pipeline::setup(&read_file(elf, "guest ELF")?, key.params())
            .with_context(|| format!("cannot compute the verifying key of {}", elf.display()))?;
        if trusted.digest() != key.digest() {
            bail!(
                "the proof is for verifying key {digest}, not {} computed from {}",
                hex(&trusted.digest()),
                elf.display()
            );
        }
    }
    if key.params() != CLUSTER_PARAMS {
        bail!(
            "the proof uses {} parameters, not {CLUSTER_PARAMS}",
            key.params()
        );
    }
    let input = match (file.input_external, input) {
        (true, None) => bail!(
            "the proof {} was made from an input in the workers' inputs folder and does not \
             carry it: pass the input with --input FILE",
            path.display()
        ),
        (true, Some(input)) => read_file(input, "input")?,
        (false, Some(input)) => {
            let given = read_file(input, "input")?;
            if given != file.input {
                bail!(
                    "the input {} is not the one the proof file {} carries",
                    input.display(),
                    path.display()
                );
            }
            given
        }
        (false, None) => file.input.clone(),
    };
    let outputs = pipeline::verify_bytes(&key, &input, &file.proof)
        .with_context(|| format!("the proof {} is invalid", path.display()))?;
    if outputs.outputs != file.public_outputs || outputs.cycles != file.cycles {
        bail!(
            "the proof {} is valid but does not prove the outputs and cycles its file states",
            path.display()
        );
    }
    println!("valid proof of program {}", file.program_id);
    println!("verifying key: {digest}");
    if trusted_key.is_none() && trusted_elf.is_none() {
        println!("(trusting the key in the file: pass --verifying-key or --elf to pin it)");
    }
    println!("exit code: {}", outputs.exit_code);
    println!("cycles: {}", outputs.cycles);
    println!("segments: {}", file.segment_count);
    println!(
        "public outputs ({} bytes): {}",
        outputs.outputs.len(),
        hex(&outputs.outputs)
    );
    Ok(())
}

fn print_job(job: &api::Job) {
    let state = JobState::try_from(job.state).map_or("-", |state| state.as_str_name());
    println!("job: {}", job.job_id);
    println!("program: {}", job.program_id);
    println!(
        "state: {}",
        state.trim_start_matches("JOB_STATE_").to_lowercase()
    );
    println!("phase: {}", phase_name(job.phase));
    println!(
        "compute units: {} requested, {} granted",
        job.requested_compute_units, job.granted_compute_units
    );
    println!("tasks: {}/{}", job.tasks_done, job.tasks_total);
    if let Some(error) = &job.error {
        println!("error: {}", error.message);
    }
    match &job.outcome {
        Some(api::job::Outcome::Execute(outcome)) => {
            println!("cycles: {}", outcome.cycles);
            println!("segments: {}", outcome.segment_count);
            println!("public outputs: {}", hex(&outcome.public_outputs));
        }
        Some(api::job::Outcome::Prove(outcome)) => {
            println!("cycles: {}", outcome.cycles);
            println!("proof: {} bytes", outcome.proof_size);
        }
        _ => {}
    }
}
