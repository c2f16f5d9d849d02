"""InfoNet: a pretrained attention network that estimates MI in one forward pass.

``InfoNet`` (the registered ``infonet`` estimator) imports torch only when it
first estimates, so listing the registry stays light. The differentiable
entry point is :func:`estimators.infonet.differentiable.mutual_information`.
"""

from estimators.infonet.estimator import InfoNet

__all__ = ["InfoNet", "mutual_information"]


def __getattr__(name: str):
    if name == "mutual_information":
        from estimators.infonet.differentiable import mutual_information

        return mutual_information
    raise AttributeError(name)
