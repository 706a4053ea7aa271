#pragma once

/// The sluice C++ API: run jobs from code and register custom sources, transforms and sinks.
/// See docs/api.md. Everything is in namespace sluice::api (sluice::Run is sluice::api::Run).

#include "sluice/batch.hpp"
#include "sluice/job.hpp"
#include "sluice/nodes.hpp"
#include "sluice/run.hpp"
#include "sluice/version.hpp"
