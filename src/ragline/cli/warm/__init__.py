"""A warm process per Prefect home that starts `ragline run` with Prefect and lancedb already
imported.

A warm `ragline run` spent most of its seconds importing Prefect and lancedb (about
2.5 s of CPU of a 3-4 s run): the same work on every run, done again because every
run is a new interpreter. The warm process does it once. The `ragline` command stays
the thin client the shell starts: it connects to the warm process over a Unix socket
under the Prefect home, passes its arguments, working directory, environment and its
own stdin/stdout/stderr (file descriptors, so the run writes to the caller's terminal
or pipes directly), and the warm process forks a child that runs exactly what
`ragline run` would have run in the caller's process. The child's exit code comes back
as the command's exit code.

What makes this safe to reuse:

- **Only a process with the caller's identity serves it** (`identity.warm_key`): the
  same interpreter and `sys.path`, the same installed packages and ragline sources,
  the same environment, working directory and Prefect project files. Anything else
  (an edited ragline, a `pip install`, another `PREFECT_*` value, another folder)
  names another warm process; the old one is drained.
- **Nothing of the user's project is imported before the fork**: workflows, plugins
  and prompt templates are read by the child, so an edit is seen by the next run.
- **Nothing runs when it forks**: after its imports the warm process checks that no
  Python thread runs but its main one and lancedb's event loop (which lancedb restarts
  in a forked child), and refuses to serve otherwise; it has run no query, no model
  and no flow, so no lock is held mid-operation when a child is forked.
- **A caller that goes away takes its run with it**: a SIGINT/SIGTERM/SIGHUP to
  `ragline run` is passed to the child's process group; if the caller is killed
  (its socket closes), the child is killed, and its flow run ends CRASHED through
  the run records, as for any killed run.

The first run without a warm process runs in its own process as before and starts
one in the background for the next run. `RAGLINE_WARM=0` turns it off; the process
stops after `RAGLINE_WARM_IDLE_TIMEOUT` seconds without a run (default 900) or with
`ragline server stop`.
"""
