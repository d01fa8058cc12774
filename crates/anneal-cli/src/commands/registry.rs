//! `anneal registry push|list|show|alias|pull`: a local model registry
//! (see the `anneal-registry` crate for the layout and the guarantees).

use anneal_registry::{Registry, parse_alias_ref};

use crate::cli::{RegistryArgs, RegistryCommand};
use crate::output;
use anneal_pipeline::Error;

pub fn run(args: &RegistryArgs) -> Result<(), Error> {
    let root = args.registry.clone().unwrap_or_else(Registry::default_root);
    let registry = Registry::open(&root)?;
    match &args.command {
        RegistryCommand::Push {
            artifact,
            name,
            aliases,
        } => {
            let pushed = registry.push(artifact, name.as_deref(), aliases)?;
            output::registry_pushed(registry.root(), &pushed);
        }
        RegistryCommand::List { name: None } => {
            output::registry_models(registry.root(), &registry.list()?);
        }
        RegistryCommand::List { name: Some(name) } => {
            output::registry_versions(&registry.model(name)?);
        }
        RegistryCommand::Show { reference, json } => {
            let details = registry.details(reference)?;
            if *json {
                output::registry_show_json(&details)?;
            } else {
                output::registry_show(&details);
            }
        }
        RegistryCommand::Alias {
            alias,
            target,
            delete,
        } => {
            let (name, alias) = parse_alias_ref(alias)?;
            match (target.clone(), *delete) {
                (_, true) => {
                    let was = registry.delete_alias(&name, &alias)?;
                    output::registry_alias_deleted(&name, &alias, was);
                }
                (Some(target), false) => {
                    let change = registry.set_alias(&name, &alias, &target)?;
                    output::registry_alias_set(&change);
                }
                (None, false) => {
                    return Err(Error::Io(format!(
                        "alias {name}@{alias}: give the version to point at, or --delete"
                    )));
                }
            }
        }
        RegistryCommand::Pull { reference, out } => {
            let version = registry.pull(reference, out)?;
            output::registry_pulled(&version, out);
        }
    }
    Ok(())
}
