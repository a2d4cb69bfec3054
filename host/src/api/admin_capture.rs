//! Admin `start_pcap`, `start_text2pcap`, `stop_pcap` and `stop_text2pcap` on a handle, as
//! Janus answers them: the file is made here (in `folder`, made if missing; named `filename`
//! or `janus-text2pcap-<random>.pcap|txt`; appended to when it exists; never in a
//! `protected_folders` folder), and the media thread that owns the handle writes its packets
//! into it (`media::capture`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::core::Core;
use super::error::{ApiError, ApiResult, ErrorCode};
use super::fields::{self, Obj};
use super::session::{lock, Capturing, Handle};
use crate::vocab::{CaptureSpec, RecordFile};

impl Core {
    /// Starts capturing the handle's packets, as pcap or as `text`.
    pub(super) fn start_capture(&self, h: &Handle, b: &Obj, text: bool) -> ApiResult<()> {
        let folder = fields::opt_str(b, "folder")?;
        let filename = fields::opt_str(b, "filename")?;
        let truncate = fields::opt_u64(b, "truncate")?.unwrap_or(0);
        let mut capture = lock(&h.capture);
        if capture.is_some() {
            let already = if text { "text2pcap already started" } else { "pcap already started" };
            return Err(ApiError::new(ErrorCode::Unknown, already));
        }
        let (file, fresh) = self.capture_file(folder, filename, text).map_err(|why| {
            tracing::error!("handle {}: no packet capture: {why}", h.id);
            let failed = if text { "Error starting text2pcap dump" } else { "Error starting pcap dump" };
            ApiError::new(ErrorCode::Unknown, failed)
        })?;
        *capture = Some(Capturing { text, path: file.path.clone() });
        let truncate = usize::try_from(truncate).unwrap_or(usize::MAX);
        self.media().capture(h.handle_ref(), Some(CaptureSpec { file, text, truncate, fresh }));
        // A handle that went meanwhile may have been released before the capture reached its
        // media thread: released again, its capture goes too (a later release comes after it).
        if self.session(h.session_id).and_then(|s| s.handle(h.id)).is_none() {
            self.media().handle_gone(h.handle_ref());
        }
        Ok(())
    }

    /// Stops the handle's capture (490 "Capture not started" without one).
    pub(super) fn stop_capture(&self, h: &Handle) -> ApiResult<()> {
        if lock(&h.capture).take().is_none() {
            return Err(ApiError::new(ErrorCode::Unknown, "Capture not started"));
        }
        self.media().capture(h.handle_ref(), None);
        Ok(())
    }

    /// Opens (for appending) the capture's file; true when it was empty.
    fn capture_file(
        &self,
        folder: Option<&str>,
        filename: Option<&str>,
        text: bool,
    ) -> Result<(Arc<RecordFile>, bool), String> {
        let name = match filename {
            Some(name) => name.to_owned(),
            None => {
                format!("janus-text2pcap-{}.{}", rand::random::<u32>(), if text { "txt" } else { "pcap" })
            }
        };
        // `folder/filename`, as Janus puts them together (an absolute name stays in the folder).
        let path = match folder {
            Some(folder) => {
                std::fs::create_dir_all(folder).map_err(|e| format!("cannot make {folder}: {e}"))?;
                PathBuf::from(format!("{folder}/{name}"))
            }
            None => PathBuf::from(&name),
        };
        if let Some(protected) = self.protected_folder_of(&path) {
            return Err(format!("{} is in the protected folder {}", path.display(), protected.display()));
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let fresh = file.metadata().map(|m| m.len() == 0).unwrap_or(false);
        let file = RecordFile { path, file, failed: false.into(), complete_as: None };
        Ok((Arc::new(file), fresh))
    }

    /// The `protected_folders` entry `path` is in, if any, as Janus tells (the file's real
    /// path starts with the entry).
    fn protected_folder_of(&self, path: &Path) -> Option<PathBuf> {
        let protected = &self.inner.general.protected_folders;
        if protected.is_empty() {
            return None;
        }
        // The file's real path (through links), or its folder's and its name when it is new.
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let real = match std::fs::canonicalize(path)
            .or_else(|_| std::fs::canonicalize(folder).map(|f| f.join(path.file_name().unwrap_or_default())))
        {
            Ok(real) => real,
            // A folder that cannot be resolved is not written in.
            Err(_) => return Some(folder.to_owned()),
        };
        let real = real.to_string_lossy();
        protected.iter().find(|p| real.starts_with(&*p.to_string_lossy())).cloned()
    }
}
