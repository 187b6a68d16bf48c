"""Storage: the guarded file layer every write and delete goes through, leases on a run id,
and the publication protocol (attempts, manifest, LATEST, root card). No Beam."""
