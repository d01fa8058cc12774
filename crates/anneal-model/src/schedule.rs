//! Learning-rate schedules, evaluated per epoch on the host.

use anneal_config::{Schedule, ScheduleKind};

/// The learning rate for 0-based `epoch` of `epochs`.
pub fn learning_rate(base: f64, s: &Schedule, epoch: u32, epochs: u32) -> f64 {
    let mut lr = match s.kind {
        ScheduleKind::Constant => base,
        ScheduleKind::Step => base * s.gamma.powi((epoch / s.step_epochs.max(1)) as i32),
        ScheduleKind::Cosine => {
            let span = f64::from(epochs.saturating_sub(1).max(1));
            let t = f64::from(epoch).min(span) / span;
            s.min_lr + (base - s.min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
        }
    };
    if epoch < s.warmup_epochs {
        lr *= f64::from(epoch + 1) / f64::from(s.warmup_epochs + 1);
    }
    lr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let mut s = Schedule::default();
        assert_eq!(learning_rate(0.1, &s, 5, 10), 0.1);
        s.kind = ScheduleKind::Step;
        s.step_epochs = 2;
        s.gamma = 0.5;
        assert_eq!(learning_rate(1.0, &s, 5, 10), 0.25);
        s.kind = ScheduleKind::Cosine;
        s.min_lr = 0.0;
        assert_eq!(learning_rate(1.0, &s, 0, 11), 1.0);
        assert!((learning_rate(1.0, &s, 5, 11) - 0.5).abs() < 1e-12);
        assert!(learning_rate(1.0, &s, 10, 11).abs() < 1e-12);
        s.kind = ScheduleKind::Constant;
        s.warmup_epochs = 3;
        assert_eq!(learning_rate(1.0, &s, 0, 10), 0.25);
        assert_eq!(learning_rate(1.0, &s, 3, 10), 1.0);
    }
}
