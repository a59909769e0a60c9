//! `loyalty.v1.ImportService`: bringing members, memberships and opening balances over from
//! another loyalty system (admin role).

use loyalty_store::ops::import::IMPORT_BATCH;
use loyalty_store::{ImportReport, ImportRow, Role, Store};
use tonic::{Request, Response, Status};

use super::writing;
use crate::auth::{caller, tenant_of};
use crate::pb;

/// The import service.
#[derive(Debug, Clone)]
pub struct ImportApi {
    store: Store,
}

impl ImportApi {
    /// The service over `store`.
    pub fn new(store: Store) -> Self {
        ImportApi { store }
    }
}

/// The rows of a chunk of JSON lines whose first line is line `first` of the file.
fn rows_of(lines: &[u8], first: u64) -> Vec<ImportRow> {
    let lines = lines.strip_suffix(b"\n").unwrap_or(lines);
    lines
        .split(|b| *b == b'\n')
        .zip(first..)
        .filter_map(|(bytes, line)| {
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            ImportRow::of(line, bytes)
        })
        .collect()
}

fn report_to_pb(report: ImportReport) -> pb::ImportResponse {
    let ImportReport {
        read,
        imported,
        already_present,
        rejected,
    } = report;
    pb::ImportResponse {
        read,
        imported,
        already_present,
        rejected: rejected
            .into_iter()
            .map(|r| pb::RejectedLine {
                line: r.line,
                reason: r.reason,
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl pb::import_service_server::ImportService for ImportApi {
    async fn import(
        &self,
        request: Request<pb::ImportRequest>,
    ) -> Result<Response<pb::ImportResponse>, Status> {
        let who = caller(&request)?;
        let tenant = tenant_of(&who, &[Role::Admin])?;
        let pb::ImportRequest { lines, first_line } = request.into_inner();
        let rows = rows_of(&lines, first_line.max(1));
        let mut report = ImportReport::default();
        // One store call, one transaction, per batch: each commits on its own, so on SQLite's
        // single writer other calls are served between the batches of a large chunk.
        for batch in rows.chunks(IMPORT_BATCH) {
            let (tenant, actor, batch) = (tenant.clone(), who.key_id.clone(), batch.to_vec());
            let outcomes = writing(&self.store, move |s| {
                s.import_batch(&tenant, &actor, &batch)
                    .map(|outcomes| (batch, outcomes))
            })
            .await?;
            report.add(&outcomes.0, outcomes.1);
        }
        Ok(Response::new(report_to_pb(report)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_skipped_and_lines_keep_their_numbers_in_the_file() {
        let rows = rows_of(b"{}\n\n  \r\nnot json\r\n", 41);
        let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [41, 44]);
        assert!(rows.iter().all(|r| r.record.is_err()));
    }
}
