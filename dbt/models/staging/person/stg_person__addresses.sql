with

source as (

    select * from {{ source('person', 'address') }}

),

renamed as (

    select
        cast(addressid as {{ dbt.type_bigint() }}) as address_id,
        cast(addressline1 as {{ dbt.type_string() }}) as address_line_1,
        cast(addressline2 as {{ dbt.type_string() }}) as address_line_2,
        cast(city as {{ dbt.type_string() }}) as city,
        cast(stateprovinceid as {{ dbt.type_bigint() }}) as state_province_id,
        cast(postalcode as {{ dbt.type_string() }}) as postal_code,
        cast(modifieddate as {{ dbt.type_timestamp() }}) as modified_at,
        _airbyte_extracted_at as _extracted_at

    from source

)

select * from renamed
