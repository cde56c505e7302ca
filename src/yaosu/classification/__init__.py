"""Classification 分类分级: detectors for Chinese personal and enterprise identifiers, grading per
GB/T 43697-2024, review of proposals, and de-identification 脱敏 operators."""
