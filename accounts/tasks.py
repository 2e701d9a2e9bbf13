from celery import shared_task

from accounts import services
from accounts.models import User


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation(user_id: int) -> None:
    user = User.objects.filter(pk=user_id).first()
    if user is None or user.invitation_sent_at is not None:
        return  # deleted meanwhile, or a redelivered message whose work is already done
    services.user_send_invitation(user=user)
