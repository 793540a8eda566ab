//! [`Cx`]: how the tables state constraints and bus interactions, with a name for each
//! constraint that the checking harness reports.

use p3_air::AirBuilder;
use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};

/// Receives the name of every constraint, in emission order (one call per `assert_zero`).
pub(crate) trait Labels {
    /// The next constraint is called `name`.
    fn label(&mut self, name: &'static str);
}

impl Labels for () {
    #[inline(always)]
    fn label(&mut self, _name: &'static str) {}
}

impl Labels for Vec<&'static str> {
    fn label(&mut self, name: &'static str) {
        self.push(name);
    }
}

/// A builder plus a label sink. Every constraint of every table goes through [`Cx::zero`],
/// so constraint `i` of a table is named by the `i`-th label.
pub(crate) struct Cx<'a, AB: InteractionBuilder, L: Labels> {
    pub(crate) b: &'a mut AB,
    labels: &'a mut L,
}

/// Shorthand for a builder's expression type.
pub(crate) type Ex<AB> = <AB as AirBuilder>::Expr;

impl<'a, AB: InteractionBuilder, L: Labels> Cx<'a, AB, L> {
    pub(crate) fn new(b: &'a mut AB, labels: &'a mut L) -> Self {
        Self { b, labels }
    }

    /// `x = 0` on every row.
    pub(crate) fn zero(&mut self, name: &'static str, x: impl Into<Ex<AB>>) {
        self.labels.label(name);
        self.b.assert_zero(x);
    }

    /// `x * (x - 1) = 0` on every row.
    pub(crate) fn boolean(&mut self, name: &'static str, x: impl Into<Ex<AB>>) {
        let x = x.into();
        self.zero(name, x.clone() * (x - Ex::<AB>::ONE));
    }

    /// `x = 0` on the first row.
    pub(crate) fn first_row(&mut self, name: &'static str, x: impl Into<Ex<AB>>) {
        let selector = self.b.is_first_row();
        self.zero(name, selector * x.into());
    }

    /// `x = 0` on the last row.
    pub(crate) fn last_row(&mut self, name: &'static str, x: impl Into<Ex<AB>>) {
        let selector = self.b.is_last_row();
        self.zero(name, selector * x.into());
    }

    /// `x = 0` on every row but the last (where `next` would wrap around).
    pub(crate) fn transition(&mut self, name: &'static str, x: impl Into<Ex<AB>>) {
        let selector = self.b.is_transition();
        self.zero(name, selector * x.into());
    }

    /// Sends `fields` `count` times (`count` is 0 or 1 on every row).
    pub(crate) fn send(
        &mut self,
        bus: &'static str,
        fields: Vec<Ex<AB>>,
        count: impl Into<Ex<AB>>,
    ) {
        self.b
            .push_interaction(bus, fields, Count::bounded(count.into(), 1));
    }

    /// Receives `fields` `count` times (`count` is 0 or 1 on every row).
    pub(crate) fn receive(
        &mut self,
        bus: &'static str,
        fields: Vec<Ex<AB>>,
        count: impl Into<Ex<AB>>,
    ) {
        self.b
            .push_interaction(bus, fields, Count::bounded(-count.into(), 1));
    }

    /// Provides a table entry `multiplicity` times (a lookup table's side of a lookup bus).
    pub(crate) fn provide(
        &mut self,
        bus: &'static str,
        fields: Vec<Ex<AB>>,
        multiplicity: impl Into<Ex<AB>>,
    ) {
        self.b
            .push_interaction(bus, fields, Count::provided(-multiplicity.into()));
    }
}

/// The constant `value` as an expression.
pub(crate) fn constant<AB: AirBuilder>(value: u32) -> Ex<AB> {
    Ex::<AB>::from_u32(value)
}
