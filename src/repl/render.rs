//! Turning results into text: JSON stats, tables, CSV/JSON rows, timings and errors.
//!
//! Every function returns a `String` so the session decides where it goes and tests can compare
//! the text directly.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use super::backend::KeyRow;

/// How query results are printed (`\format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned table, cut after the row limit.
    #[default]
    Table,
    /// CSV with a header line, every row.
    Csv,
    /// One JSON object per row, every row.
    Json,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown format `{other}`: use table, csv or json")),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Table => "table",
            Format::Csv => "csv",
            Format::Json => "json",
        })
    }
}

/// Server statistics as indented JSON, like the original's `stats`.
pub fn stats(value: &serde_json::Value) -> String {
    // Serializing a `Value` cannot fail; fall back to the compact form just in case.
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// Query results in `format`. Tables show at most `max_rows` rows, then a note.
pub fn batches(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    format: Format,
    max_rows: usize,
) -> Result<String, arrow::error::ArrowError> {
    match format {
        Format::Table => table(schema, batches, max_rows),
        Format::Csv => csv(batches),
        Format::Json => json(batches),
    }
}

fn table(
    schema: &SchemaRef,
    batches: &[RecordBatch],
    max_rows: usize,
) -> Result<String, arrow::error::ArrowError> {
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let mut t = new_table();
    t.set_header(schema.fields().iter().map(|f| f.name().as_str()));
    let options = FormatOptions::default().with_null("NULL");
    let mut shown = 0;
    'outer: for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        for row in 0..batch.num_rows() {
            if shown == max_rows {
                break 'outer;
            }
            t.add_row(formatters.iter().map(|f| f.value(row).to_string()));
            shown += 1;
        }
    }
    for (i, field) in schema.fields().iter().enumerate() {
        if is_numeric(field.data_type())
            && let Some(col) = t.column_mut(i)
        {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    let mut out = t.to_string();
    out.push('\n');
    out.push_str(&row_count(total));
    if shown < total {
        out.push_str(&format!(
            " — showing the first {shown}; use \\format csv or LIMIT to see the rest"
        ));
    }
    Ok(out)
}

fn row_count(n: usize) -> String {
    if n == 1 {
        "(1 row)".into()
    } else {
        format!("({n} rows)")
    }
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
        || matches!(
            t,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
        )
}

fn new_table() -> Table {
    let mut t = Table::new();
    // No wrapping to the terminal width: wide results scroll, and piped output stays one row a
    // line so it can be processed.
    t.load_preset(presets::ASCII_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled);
    t
}

fn csv(batches: &[RecordBatch]) -> Result<String, arrow::error::ArrowError> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut buf);
        for b in batches {
            w.write(b)?;
        }
    }
    Ok(String::from_utf8_lossy(&buf).trim_end().to_string())
}

fn json(batches: &[RecordBatch]) -> Result<String, arrow::error::ArrowError> {
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
        let refs: Vec<&RecordBatch> = batches.iter().collect();
        w.write_batches(&refs)?;
        w.finish()?;
    }
    Ok(String::from_utf8_lossy(&buf).trim_end().to_string())
}

/// The `ls` listing.
pub fn keys(rows: &[KeyRow], format: Format) -> String {
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    match format {
        Format::Table => {
            let mut t = new_table();
            t.set_header(["key", "rows", "first", "last", "columns", "disk", "loaded"]);
            for r in rows {
                t.add_row([
                    r.key.clone(),
                    r.rows.to_string(),
                    opt(r.first),
                    opt(r.last),
                    r.columns.join(","),
                    human_bytes(r.disk_bytes),
                    if r.loaded { "yes" } else { "no" }.to_string(),
                ]);
            }
            for i in [1, 2, 3, 5] {
                if let Some(c) = t.column_mut(i) {
                    c.set_cell_alignment(CellAlignment::Right);
                }
            }
            format!("{t}\n{}", row_count(rows.len()).replace("row", "key"))
        }
        Format::Csv => {
            let mut out = String::from("key,rows,first,last,columns,disk_bytes,loaded");
            for r in rows {
                out.push_str(&format!(
                    "\n{},{},{},{},\"{}\",{},{}",
                    r.key,
                    r.rows,
                    opt(r.first),
                    opt(r.last),
                    r.columns.join(","),
                    r.disk_bytes,
                    r.loaded
                ));
            }
            out
        }
        Format::Json => rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "key": r.key, "rows": r.rows, "first": r.first, "last": r.last,
                    "columns": r.columns, "disk_bytes": r.disk_bytes, "loaded": r.loaded,
                })
                .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Bytes in the largest binary unit that keeps the number at least 1, e.g. `1.5 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// The `\timing` line: time spent on the server and the whole round trip.
pub fn timing(server: Option<Duration>, round_trip: Duration) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    match server {
        Some(s) => format!(
            "Time: server {:.3} ms, round trip {:.3} ms",
            ms(s),
            ms(round_trip)
        ),
        None => format!("Time: round trip {:.3} ms", ms(round_trip)),
    }
}

/// An error line, red when `color` (only on a terminal).
pub fn error(message: &str, color: bool) -> String {
    if color {
        format!("\x1b[31merror: {message}\x1b[0m")
    } else {
        format!("error: {message}")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn sample(n: i64) -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("t", DataType::Int64, false),
            Field::new("sym", DataType::Utf8, true),
            Field::new("px", DataType::Float64, true),
        ]));
        let t = Int64Array::from_iter_values(0..n);
        let sym = StringArray::from_iter((0..n).map(|i| (i % 2 == 0).then_some("AAPL")));
        let px = Float64Array::from_iter_values((0..n).map(|i| 100.0 + i as f64 / 4.0));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(t), Arc::new(sym), Arc::new(px)],
        )
        .unwrap();
        (schema, batch)
    }

    #[test]
    fn table_has_header_rows_and_count() {
        let (schema, batch) = sample(3);
        let out = batches(&schema, &[batch], Format::Table, 100).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[1].contains("| t ") && lines[1].contains("sym") && lines[1].contains("px"));
        assert!(out.contains("AAPL") && out.contains("NULL") && out.contains("100.25"));
        assert_eq!(lines.last(), Some(&"(3 rows)"));
        // Every table line has the same width: the columns are aligned.
        let table_lines = &lines[..lines.len() - 1];
        assert!(
            table_lines.iter().all(|l| l.len() == table_lines[0].len()),
            "{out}"
        );
        // Numbers are right-aligned: the single-digit index sits against the right border.
        assert!(lines[3].starts_with("|"), "{out}");
        assert!(lines[3].split('|').nth(1).unwrap().ends_with("0 "), "{out}");
    }

    #[test]
    fn table_is_cut_at_the_row_limit_with_a_note() {
        let (schema, batch) = sample(10);
        let out = batches(&schema, &[batch.clone(), batch], Format::Table, 4).unwrap();
        assert!(
            out.ends_with(
                "(20 rows) — showing the first 4; use \\format csv or LIMIT to see the rest"
            ),
            "{out}"
        );
        assert_eq!(out.matches("AAPL").count(), 2);
    }

    #[test]
    fn one_row_and_empty_results() {
        let (schema, batch) = sample(1);
        assert!(
            batches(&schema, &[batch], Format::Table, 10)
                .unwrap()
                .ends_with("(1 row)")
        );
        let out = batches(&schema, &[], Format::Table, 10).unwrap();
        assert!(out.contains("sym") && out.ends_with("(0 rows)"), "{out}");
    }

    #[test]
    fn csv_and_json_print_every_row() {
        let (schema, batch) = sample(3);
        let csv = batches(&schema, std::slice::from_ref(&batch), Format::Csv, 1).unwrap();
        assert_eq!(csv, "t,sym,px\n0,AAPL,100.0\n1,,100.25\n2,AAPL,100.5");
        let json = batches(&schema, &[batch], Format::Json, 1).unwrap();
        let rows: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2]["px"], 100.5);
        assert_eq!(rows[0]["sym"], "AAPL");
    }

    #[test]
    fn stats_are_indented_json() {
        let v = serde_json::json!({"frames": 2, "memory": {"used": 10}});
        let out = stats(&v);
        assert!(out.contains("\n  \"frames\": 2"), "{out}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap(), v);
    }

    #[test]
    fn key_listing() {
        let rows = vec![KeyRow {
            key: "a/b".into(),
            rows: 5,
            first: Some(1),
            last: Some(9),
            columns: vec!["t".into(), "c".into()],
            disk_bytes: 2048,
            loaded: true,
        }];
        let t = keys(&rows, Format::Table);
        assert!(
            t.contains("a/b") && t.contains("2.0 KiB") && t.contains("t,c"),
            "{t}"
        );
        assert!(t.ends_with("(1 key)"));
        assert!(keys(&[], Format::Table).ends_with("(0 keys)"));
        assert_eq!(
            keys(&rows, Format::Csv),
            "key,rows,first,last,columns,disk_bytes,loaded\na/b,5,1,9,\"t,c\",2048,true"
        );
        let j: serde_json::Value = serde_json::from_str(&keys(&rows, Format::Json)).unwrap();
        assert_eq!(j["columns"][1], "c");
    }

    #[test]
    fn small_helpers() {
        assert_eq!(human_bytes(10), "10 B");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(error("boom", false), "error: boom");
        assert!(error("boom", true).starts_with("\x1b[31m"));
        let t = timing(Some(Duration::from_micros(1500)), Duration::from_millis(3));
        assert_eq!(t, "Time: server 1.500 ms, round trip 3.000 ms");
        assert_eq!("CSV".parse::<Format>(), Ok(Format::Csv));
        assert!("xml".parse::<Format>().is_err());
    }
}
