//! The catalog: stored keys as SQL tables, listed from the source at query time.
//!
//! Naming rules (case is preserved everywhere):
//! - `a/b/c` (three segments) is `a.b.c`: catalog `a`, schema `b`, table `c`;
//! - `a/b` (two segments) is `a.b`: schema `a` of the default catalog;
//! - `a` (one segment) is the table `a` of the default schema;
//! - every key, of any depth, is also the quoted name `"a/b/c"` in the default schema.
//!
//! `SHOW TABLES` and `information_schema` list each key once, under its dotted name where it
//! has one (so `SHOW COLUMNS` needs that name); a three-segment key whose first segment is
//! `kdfs` is reachable only by its quoted path, as `kdfs` names the default catalog.
//!
//! Nothing is cached: each lookup asks the source, so new frames appear without a restart.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, CatalogProviderList, SchemaProvider, TableProvider};
use datafusion::error::Result;

use super::source::FrameSource;
use super::table::FrameTable;

/// Name of the catalog holding the default schema.
pub const DEFAULT_CATALOG: &str = "kdfs";
/// Name of the default schema (where quoted full paths resolve).
pub const DEFAULT_SCHEMA: &str = "public";

fn segments(key: &str) -> Vec<&str> {
    key.split('/').collect()
}

/// The list of catalogs: the default one plus the first segment of every three-segment key.
#[derive(Debug)]
pub(crate) struct FrameCatalogList {
    source: Arc<dyn FrameSource>,
}

impl FrameCatalogList {
    pub fn new(source: Arc<dyn FrameSource>) -> Self {
        Self { source }
    }
}

impl CatalogProviderList for FrameCatalogList {
    fn register_catalog(
        &self,
        _name: String,
        _catalog: Arc<dyn CatalogProvider>,
    ) -> Option<Arc<dyn CatalogProvider>> {
        // The catalog mirrors the store; nothing can be registered into it.
        None
    }

    fn catalog_names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self
            .source
            .list("")
            .iter()
            .filter_map(|m| match segments(&m.key)[..] {
                [c, _, _] => Some(c.to_string()),
                _ => None,
            })
            .collect();
        names.insert(DEFAULT_CATALOG.to_string());
        names.into_iter().collect()
    }

    fn catalog(&self, name: &str) -> Option<Arc<dyn CatalogProvider>> {
        if name == DEFAULT_CATALOG {
            return Some(Arc::new(DefaultCatalog {
                source: Arc::clone(&self.source),
            }));
        }
        let prefix = format!("{name}/");
        let exists = self
            .source
            .list(&prefix)
            .iter()
            .any(|m| segments(&m.key).len() == 3);
        exists.then(|| {
            Arc::new(PrefixCatalog {
                source: Arc::clone(&self.source),
                name: name.to_string(),
            }) as Arc<dyn CatalogProvider>
        })
    }
}

/// The default catalog: the default schema plus one schema per two-segment key prefix.
#[derive(Debug)]
struct DefaultCatalog {
    source: Arc<dyn FrameSource>,
}

impl CatalogProvider for DefaultCatalog {
    fn schema_names(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = self
            .source
            .list("")
            .iter()
            .filter_map(|m| match segments(&m.key)[..] {
                [s, _] => Some(s.to_string()),
                _ => None,
            })
            .collect();
        names.insert(DEFAULT_SCHEMA.to_string());
        names.into_iter().collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if name == DEFAULT_SCHEMA {
            return Some(Arc::new(DefaultSchema {
                source: Arc::clone(&self.source),
            }));
        }
        PrefixSchema::open(&self.source, name.to_string())
    }
}

/// A catalog named after the first segment of three-segment keys.
#[derive(Debug)]
struct PrefixCatalog {
    source: Arc<dyn FrameSource>,
    name: String,
}

impl CatalogProvider for PrefixCatalog {
    fn schema_names(&self) -> Vec<String> {
        let prefix = format!("{}/", self.name);
        let names: BTreeSet<String> = self
            .source
            .list(&prefix)
            .iter()
            .filter_map(|m| match segments(&m.key)[..] {
                [_, s, _] => Some(s.to_string()),
                _ => None,
            })
            .collect();
        names.into_iter().collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        PrefixSchema::open(&self.source, format!("{}/{name}", self.name))
    }
}

/// The tables `prefix/<name>` (exactly one more segment).
#[derive(Debug)]
struct PrefixSchema {
    source: Arc<dyn FrameSource>,
    prefix: String,
}

impl PrefixSchema {
    /// The schema for `prefix`, if at least one key lies directly under it.
    fn open(source: &Arc<dyn FrameSource>, prefix: String) -> Option<Arc<dyn SchemaProvider>> {
        let schema = PrefixSchema {
            source: Arc::clone(source),
            prefix,
        };
        (!schema.table_names().is_empty()).then(|| Arc::new(schema) as Arc<dyn SchemaProvider>)
    }
}

#[async_trait]
impl SchemaProvider for PrefixSchema {
    fn table_names(&self) -> Vec<String> {
        let prefix = format!("{}/", self.prefix);
        self.source
            .list(&prefix)
            .iter()
            .filter_map(|m| m.key.strip_prefix(&prefix))
            .filter(|rest| !rest.is_empty() && !rest.contains('/'))
            .map(str::to_string)
            .collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if name.contains('/') {
            return Ok(None);
        }
        let key = format!("{}/{name}", self.prefix);
        Ok(self
            .source
            .meta(&key)
            .map(|m| Arc::new(FrameTable::new(Arc::clone(&self.source), &m)) as _))
    }

    fn table_exist(&self, name: &str) -> bool {
        !name.contains('/')
            && self
                .source
                .meta(&format!("{}/{name}", self.prefix))
                .is_some()
    }
}

/// The default schema: one-segment keys by name, and every key by its quoted full path.
#[derive(Debug)]
struct DefaultSchema {
    source: Arc<dyn FrameSource>,
}

#[async_trait]
impl SchemaProvider for DefaultSchema {
    fn table_names(&self) -> Vec<String> {
        // Keys with a dotted name are listed under that name only, to keep SHOW TABLES short;
        // deeper keys are listed by full path, their only name.
        self.source
            .list("")
            .into_iter()
            .filter(|m| {
                let n = segments(&m.key).len();
                n == 1 || n > 3
            })
            .map(|m| m.key)
            .collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        Ok(self
            .source
            .meta(name)
            .map(|m| Arc::new(FrameTable::new(Arc::clone(&self.source), &m)) as _))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.source.meta(name).is_some()
    }
}
