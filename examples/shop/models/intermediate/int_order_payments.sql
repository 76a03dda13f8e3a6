with payments as (

    select * from {{ ref('stg_payments') }}

)

select
    order_id,
    count(*) as payment_attempts,
    count(*) filter (where payment_status = 'failed') as failed_attempts,
    sum(captured_amount_cents) as paid_amount_cents,
    -- method that captured the largest amount
    arg_max(payment_method, captured_amount_cents) as primary_payment_method,
    max(created_at) as last_payment_at
from payments
group by order_id
