//! One function per command.

mod albums;
mod caption;
mod classify;
mod embed;
mod eval;
mod index;
mod models;
mod roots;
mod search;
mod serve;
mod show;
mod status;
mod vary;
mod watch;

use anyhow::Context;
use shoebox_engine::{Engine, Override, Settings};

use crate::cli::{Cli, Command, Global};

pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let engine = open(&cli.global, &cli.command).await?;
    match cli.command {
        Command::Index {
            paths,
            json,
            no_embed,
            model,
            ..
        } => index::run(&engine, &paths, !no_embed, model.model_dir.as_deref(), json).await,
        Command::Serve {
            paths,
            listen,
            model,
            ..
        } => serve::run(engine, &paths, model.model_dir.as_deref(), listen).await,
        Command::Watch { paths, model, .. } => {
            watch::run(&engine, &paths, model.model_dir.as_deref()).await
        }
        Command::Vary { photo, options } => vary::run(&engine, photo, &options).await,
        Command::Search { query, options } => search::search(&engine, &query, &options).await,
        Command::Similar { photo, options } => search::similar(&engine, &photo, &options).await,
        Command::Status {
            failures,
            json,
            watch,
            retry,
        } => {
            if retry {
                let queued = engine.retry_dead_jobs(None).await?;
                eprintln!(
                    "Queued {queued} dead job(s) again; a running `shoebox serve` or `watch` takes them."
                );
            }
            if watch {
                status::follow(&engine).await
            } else {
                status::run(&engine, failures, json).await
            }
        }
        Command::Show { id, json } => show::run(&engine, id, json).await,
        Command::Roots { command } => roots::run(&engine, command).await,
        Command::Albums { command } => albums::run(&engine, command).await,
        Command::Models { command } => models::run(&engine, command),
        Command::Embed {
            images,
            texts,
            model,
            json,
        } => embed::run(&engine, &images, &texts, model.model_dir.as_deref(), json),
        Command::Eval {
            command,
            model,
            json,
        } => eval::run(&engine, command, model.model_dir.as_deref(), json),
        Command::Ask {
            question,
            photo,
            search,
            top,
            lang,
            model,
            json,
        } => {
            let target = match (photo, search) {
                (Some(photo), _) => caption::Target::Photo(photo),
                (None, Some(query)) => caption::Target::Search { query, top },
                (None, None) => anyhow::bail!("ask needs --photo FILE or --search QUERY"),
            };
            caption::ask(
                &engine,
                &target,
                &question,
                &lang,
                model.model_dir.as_deref(),
                json,
            )
            .await
        }
        Command::Caption {
            images,
            lang,
            prompt,
            model,
            json,
        } => caption::run(
            &engine,
            &images,
            &lang,
            &prompt,
            model.model_dir.as_deref(),
            json,
        ),
        Command::Classify {
            image,
            labels,
            templates,
            model,
            json,
        } => classify::run(
            &engine,
            &image,
            &labels,
            &templates,
            model.model_dir.as_deref(),
            json,
        ),
    }
}

async fn open(global: &Global, command: &Command) -> anyhow::Result<Engine> {
    let mut overrides = Vec::new();
    if let Some(dir) = &global.data_dir {
        overrides.push((
            "storage.data_dir",
            Override::Text(dir.to_string_lossy().into_owned()),
        ));
    }
    if let Command::Index {
        retry_failed: true, ..
    } = command
    {
        overrides.push(("indexer.retry_failed", Override::Flag(true)));
    }
    if let Command::Index {
        no_caption: true, ..
    }
    | Command::Watch {
        no_caption: true, ..
    }
    | Command::Serve {
        no_caption: true, ..
    } = command
    {
        overrides.push(("captions.enabled", Override::Flag(false)));
    }
    if let Command::Watch { poll: true, .. } = command {
        overrides.push(("watch.mode", Override::Text("poll".to_owned())));
    }
    let settings = Settings::load(global.config.as_deref(), &overrides)?;
    let data_dir = settings.data_dir();
    Engine::open(settings)
        .await
        .with_context(|| format!("opening the library in {}", data_dir.root().display()))
}
