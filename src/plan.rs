//! A mutating command's plan as data, and the one scaffold every mutating
//! command runs it through: plan → dry run or journaled execution →
//! summary (docs/design.md, One shape for every mutating command).
//!
//! A command decides everything first — refusals, names, counts — and
//! returns a [`Plan`]: the steps it will take, in order, as values. The
//! same values render the dry run (`Would:` and each step's `Display`),
//! are recorded in the journal's `begin` record, and are what
//! [`carry_out`] hands back one by one to be executed. A dry run and a real
//! run therefore cannot describe different work: there is no second list.
//!
//! Each command has its own step type (an enum implementing [`Step`]), so
//! that a step carries exactly what that command needs to carry it out;
//! the steps every command shares — creating, moving and deleting refs —
//! are [`RefStep`], which the transaction itself executes
//! ([`crate::journal::Transaction::apply_ref_step`]).

use std::fmt;

use crate::commands::Context;
use crate::git::Oid;
use crate::journal::{Intent, Transaction};
use crate::ui::Outcome;

/// When a step runs relative to the operation's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the transaction begins (stopping services, so that their
    /// files are saved too). Not journaled: it changes nothing in the
    /// repository.
    Before,
    /// Inside the transaction: journaled and undoable.
    Journaled,
    /// After the transaction, and also after it failed once a `Before`
    /// step ran (restarting services must not be skipped by a refusal).
    Finally,
    /// A change the journal does not save because it is not repository
    /// state undo puts back: the hook script (`hook uninstall` restores
    /// it), the journal's own records (`log prune`, `undo --dismiss`), the
    /// reports folder, which only grows (docs/invariants.md, I8). A plan
    /// of such steps begins no transaction: [`carry_out`] runs them in
    /// order with [`Execute::outside`]. A plan never mixes them with
    /// journaled steps.
    Unjournaled,
}

/// One step of a plan: what the dry run prints and what is executed.
pub trait Step: fmt::Display {
    fn phase(&self) -> Phase {
        Phase::Journaled
    }

    /// Whether the dry run and the journal list the step. Bookkeeping that
    /// follows from the shown steps (undo putting back the tool's own
    /// state files) runs without a line of its own.
    fn shown(&self) -> bool {
        true
    }
}

/// What a command will do, decided before anything changes.
#[derive(Debug, Clone)]
pub struct Plan<S> {
    pub steps: Vec<S>,
    /// Why the command would change nothing, when it would not
    /// (docs/invariants.md, I11): then nothing runs and nothing is recorded.
    pub nothing: Option<String>,
    /// Show a plan of one step as one line, `Would <step>` (a checkpoint's
    /// dry run has always read so), instead of `Would:` and the list.
    pub one_line: bool,
    /// The dry run's first line in place of `Would:` (`Would undo …:`).
    pub heading: Option<String>,
}

impl<S: Step> Plan<S> {
    pub fn new() -> Plan<S> {
        Plan {
            steps: Vec::new(),
            nothing: None,
            one_line: false,
            heading: None,
        }
    }

    pub fn push(&mut self, step: S) {
        self.steps.push(step);
    }

    /// The steps as the dry run, the journal and `--json`'s `plan` show them.
    pub fn lines(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| s.shown())
            .map(ToString::to_string)
            .collect()
    }

    /// Whether the plan runs outside the journal (every step
    /// [`Phase::Unjournaled`]).
    fn unjournaled(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.phase() == Phase::Unjournaled)
    }
}

impl<S: Step> Default for Plan<S> {
    fn default() -> Self {
        Plan::new()
    }
}

/// A ref change most mutating commands make, executed by the transaction
/// with a compare-and-swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefStep {
    /// Create a branch (`name` without `refs/heads/`), which must not exist.
    CreateBranch { name: String, at: Rev },
    /// Create a ref (full name), which must not exist.
    CreateRef {
        name: String,
        at: Rev,
        shown: String,
    },
    /// Move a ref (full name) from the value it has now.
    MoveRef {
        name: String,
        from: Option<Oid>,
        to: Rev,
        shown: String,
    },
    /// Delete a ref (full name) that holds `from`.
    DeleteRef {
        name: String,
        from: Oid,
        shown: String,
    },
    /// Detach HEAD at a commit.
    DetachHead { at: Rev },
}

impl RefStep {
    /// The full ref name the step changes (`None` for HEAD).
    pub fn ref_name(&self) -> Option<String> {
        match self {
            RefStep::CreateBranch { name, .. } => Some(format!("refs/heads/{name}")),
            RefStep::CreateRef { name, .. }
            | RefStep::MoveRef { name, .. }
            | RefStep::DeleteRef { name, .. } => Some(name.clone()),
            RefStep::DetachHead { .. } => None,
        }
    }
}

impl fmt::Display for RefStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefStep::CreateBranch { name, at } => write!(f, "create branch {name} at {}", at.short),
            RefStep::CreateRef { shown, .. }
            | RefStep::MoveRef { shown, .. }
            | RefStep::DeleteRef { shown, .. } => f.write_str(shown),
            RefStep::DetachHead { at } => write!(f, "detach HEAD at {}", at.short),
        }
    }
}

/// A commit as a plan names it: its id, and the abbreviation shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rev {
    pub id: Oid,
    pub short: String,
}

impl Rev {
    pub fn new(repo: &crate::git::Repo, id: Oid) -> Rev {
        Rev {
            id,
            short: repo.short_id(id),
        }
    }
}

/// How a command carries out the journaled part of its plan.
pub trait Execute<S: Step> {
    /// What the command reports once every step ran.
    type Done;

    /// The transaction's intent (its scope and what it saves); the plan's
    /// lines are added by [`carry_out`].
    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        let _ = ctx;
        anyhow::bail!("internal error: a plan without journaled steps has no transaction")
    }

    /// Run one `Before`, `Finally` or `Unjournaled` step (outside the
    /// journal).
    fn outside(&mut self, ctx: &Context, step: &S, outcome: &mut Outcome) -> anyhow::Result<()> {
        let _ = (ctx, outcome);
        anyhow::bail!("internal error: no way to run `{step}` outside the journal")
    }

    /// Run one journaled step.
    fn step(&mut self, ctx: &Context, tx: &mut Transaction<'_>, step: &S) -> anyhow::Result<()> {
        let _ = (ctx, tx);
        anyhow::bail!("internal error: no way to run `{step}` in the journal")
    }

    /// After the last journaled step, still inside the transaction: what
    /// the command reports.
    fn done(&mut self, ctx: &Context, tx: &mut Transaction<'_>) -> anyhow::Result<Self::Done> {
        let _ = (ctx, tx);
        anyhow::bail!("internal error: a plan without journaled steps has no transaction")
    }

    /// After the last step of a plan that runs outside the journal
    /// ([`Phase::Unjournaled`]): what the command reports.
    fn done_outside(&mut self, ctx: &Context) -> anyhow::Result<Self::Done> {
        let _ = ctx;
        anyhow::bail!("internal error: a journaled plan ends in its transaction")
    }
}

/// A command that keeps what its `Finally` steps found (a verification
/// after the rollback) lends its executor to [`carry_out`].
impl<S: Step, E: Execute<S>> Execute<S> for &mut E {
    type Done = E::Done;

    fn intent(&self, ctx: &Context) -> anyhow::Result<Intent> {
        (**self).intent(ctx)
    }

    fn outside(&mut self, ctx: &Context, step: &S, outcome: &mut Outcome) -> anyhow::Result<()> {
        (**self).outside(ctx, step, outcome)
    }

    fn step(&mut self, ctx: &Context, tx: &mut Transaction<'_>, step: &S) -> anyhow::Result<()> {
        (**self).step(ctx, tx, step)
    }

    fn done(&mut self, ctx: &Context, tx: &mut Transaction<'_>) -> anyhow::Result<Self::Done> {
        (**self).done(ctx, tx)
    }

    fn done_outside(&mut self, ctx: &Context) -> anyhow::Result<Self::Done> {
        (**self).done_outside(ctx)
    }
}

/// What [`carry_out`] did.
pub enum Carried<D> {
    /// The plan changes nothing; the outcome says why.
    Nothing,
    /// `--dry-run`: the outcome lists the steps.
    DryRun,
    /// Every step ran in the journaled operation `id`.
    Done { done: D, id: String },
    /// Every step of a plan that runs outside the journal ran.
    Unjournaled(D),
}

/// The one scaffold of every mutating command: a plan that changes nothing
/// says so; a dry run prints the plan (and `"plan"` in JSON); otherwise
/// the `Before` steps run, then one transaction runs every `Journaled`
/// step in order, then the `Finally` steps (on every path once a `Before`
/// step ran). A plan of [`Phase::Unjournaled`] steps runs them in order
/// and begins no transaction. On a dry run `outcome` gets `"plan"`; a
/// command that prints `"changed"` says so in its own result.
pub fn carry_out<S: Step, E: Execute<S>>(
    ctx: &Context,
    plan: &Plan<S>,
    mut exec: E,
    outcome: &mut Outcome,
) -> anyhow::Result<Carried<E::Done>> {
    if let Some(why) = &plan.nothing {
        outcome.nothing_to_do(why);
        return Ok(Carried::Nothing);
    }
    if ctx.ui.dry_run {
        print_dry_run(outcome, plan);
        return Ok(Carried::DryRun);
    }
    if plan.unjournaled() {
        for step in &plan.steps {
            exec.outside(ctx, step, outcome)?;
        }
        return Ok(Carried::Unjournaled(exec.done_outside(ctx)?));
    }
    debug_assert!(
        plan.steps.iter().all(|s| s.phase() != Phase::Unjournaled),
        "a plan mixes journaled and unjournaled steps"
    );
    let in_phase = |phase: Phase| plan.steps.iter().filter(move |s| s.phase() == phase);
    let mut ran_before = false;
    for step in in_phase(Phase::Before) {
        exec.outside(ctx, step, outcome)?;
        ran_before = true;
    }
    let carried = (|| {
        let intent = exec.intent(ctx)?;
        let tx = Transaction::begin(&ctx.repo, &ctx.ui, intent, &|| plan.lines())?;
        tx.run(|tx| {
            for step in in_phase(Phase::Journaled) {
                exec.step(ctx, tx, step)?;
            }
            exec.done(ctx, tx)
        })
    })();
    // A failure of the operation outranks one of a Finally step.
    let mut finally = Ok(());
    if carried.is_ok() || ran_before {
        for step in in_phase(Phase::Finally) {
            finally = exec.outside(ctx, step, outcome);
            if finally.is_err() {
                break;
            }
        }
    }
    let (done, id) = carried?;
    finally?;
    Ok(Carried::Done { done, id })
}

/// The JSON field of a dry run: the plan's steps, as its lines show them.
#[derive(serde::Serialize)]
struct DryRun {
    plan: Vec<String>,
}

/// A dry run's output, the same for every command that has one: `Would:`,
/// each step's line, and `"plan"` in JSON.
pub fn print_dry_run<S: Step>(outcome: &mut Outcome, plan: &Plan<S>) {
    let lines = plan.lines();
    match lines.as_slice() {
        [one] if plan.one_line => {
            outcome.line(format!("Would {one}"));
        }
        steps => {
            outcome.line(plan.heading.as_deref().unwrap_or("Would:"));
            for step in steps {
                outcome.line(format!("  {step}"));
            }
        }
    }
    outcome.data(&DryRun { plan: lines });
}
