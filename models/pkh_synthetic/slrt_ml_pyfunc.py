# MLflow models-from-code: the model is built from the installed slrt_ml package; the
# fitted model itself is data (skops/ubj/keras files with their sha256), never a pickle.
import mlflow
from slrt_ml.tracking_model import PovertyPyfunc

mlflow.models.set_model(PovertyPyfunc())
