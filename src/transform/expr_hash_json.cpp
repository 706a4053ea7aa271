// Hashing and JSON functions. (Being written.)
#include "transform/expr_functions.hpp"

namespace sluice::expr {

void RegisterHashJsonFunctions(FunctionTable&) {}

}  // namespace sluice::expr
